# Function URL: the simplest front door, 900 s, with response streaming (as the REST API, rest_api.tf).

resource "aws_lambda_function_url" "this" {
  #checkov:skip=CKV_AWS_258:A public website has no caller credentials; set function_url_auth_type = "AWS_IAM" behind CloudFront OAC
  count              = var.front_door == "function-url" ? 1 : 0
  function_name      = aws_lambda_function.this.function_name
  authorization_type = var.function_url_auth_type
  invoke_mode        = local.streaming ? "RESPONSE_STREAM" : "BUFFERED"
}

# A public URL needs both statements (lambda:InvokeFunction since October 2025), each only through the URL.
# Counts as one conditional inside another, not `a && b ? 1 : 0`: checkov drops resources counted that way.
resource "aws_lambda_permission" "url" {
  #checkov:skip=CKV_AWS_301:A public Function URL (auth NONE) is a public website by choice; this statement allows only lambda:InvokeFunctionUrl with auth type NONE
  count                  = var.function_url_auth_type == "NONE" ? (var.front_door == "function-url" ? 1 : 0) : 0
  statement_id           = "FunctionUrlPublic"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.this.function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

resource "aws_lambda_permission" "url_invoke" {
  #checkov:skip=CKV_AWS_301:A public Function URL needs lambda:InvokeFunction too (since October 2025), allowed only through the URL (invoked_via_function_url)
  count                    = var.function_url_auth_type == "NONE" ? (var.front_door == "function-url" ? 1 : 0) : 0
  statement_id             = "FunctionUrlPublicInvoke"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.this.function_name
  principal                = "*"
  invoked_via_function_url = true
}
