# Function URL: the simplest front door, 900 s, and the only one with response streaming here.

resource "aws_lambda_function_url" "this" {
  #checkov:skip=CKV_AWS_258:A public website has no caller credentials; set function_url_auth_type = "AWS_IAM" behind CloudFront OAC
  count              = var.front_door == "function-url" ? 1 : 0
  function_name      = aws_lambda_function.this.function_name
  authorization_type = var.function_url_auth_type
  invoke_mode        = local.streaming ? "RESPONSE_STREAM" : "BUFFERED"
}

# A public URL needs both statements (lambda:InvokeFunction since October 2025), each only through the URL.
resource "aws_lambda_permission" "url" {
  count                  = var.front_door == "function-url" && var.function_url_auth_type == "NONE" ? 1 : 0
  statement_id           = "FunctionUrlPublic"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.this.function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

resource "aws_lambda_permission" "url_invoke" {
  count                    = var.front_door == "function-url" && var.function_url_auth_type == "NONE" ? 1 : 0
  statement_id             = "FunctionUrlPublicInvoke"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.this.function_name
  principal                = "*"
  invoked_via_function_url = true
}
