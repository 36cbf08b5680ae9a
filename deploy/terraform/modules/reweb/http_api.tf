# API Gateway HTTP API: payload format 2.0, one $default route to the function, 30 s at most.

resource "aws_apigatewayv2_api" "this" {
  count         = var.front_door == "http-api" ? 1 : 0
  name          = var.name
  protocol_type = "HTTP"
  tags          = var.tags
}

resource "aws_apigatewayv2_integration" "this" {
  count                  = var.front_door == "http-api" ? 1 : 0
  api_id                 = aws_apigatewayv2_api.this[0].id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.this.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 30000
}

resource "aws_apigatewayv2_route" "this" {
  #checkov:skip=CKV_AWS_309:A public website; the app does its own authentication
  count     = var.front_door == "http-api" ? 1 : 0
  api_id    = aws_apigatewayv2_api.this[0].id
  route_key = "$default"
  target    = "integrations/${aws_apigatewayv2_integration.this[0].id}"
}

resource "aws_apigatewayv2_stage" "this" {
  #checkov:skip=CKV_AWS_76:The function's log group has every failed request; API access logs are a separate, billed log
  count       = var.front_door == "http-api" ? 1 : 0
  api_id      = aws_apigatewayv2_api.this[0].id
  name        = "$default"
  auto_deploy = true
  tags        = var.tags
}

resource "aws_lambda_permission" "http_api" {
  count         = var.front_door == "http-api" ? 1 : 0
  statement_id  = "HttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this[0].execution_arn}/*/*"
}
