# API Gateway REST API (regional): "/" and "/{proxy+}", any method, Lambda proxy integration, every body passed
# as bytes (binary_media_types */*: base64 in the event, which reweb decodes); 29 s unless the quota is raised.
# With var.streaming: the integrations' response_transfer_mode STREAM, which invokes Lambda's
# InvokeWithResponseStream (its own URI) for up to 15 minutes
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode-lambda.html).

locals {
  rest     = var.front_door == "rest-api" ? 1 : 0
  rest_uri = local.streaming ? "${trimsuffix(replace(aws_lambda_function.this.invoke_arn, "/2015-03-31/", "/2021-11-15/"), "/invocations")}/response-streaming-invocations" : aws_lambda_function.this.invoke_arn
}

resource "aws_api_gateway_rest_api" "this" {
  count              = local.rest
  name               = var.name
  binary_media_types = ["*/*"]
  tags               = var.tags
  endpoint_configuration {
    types = ["REGIONAL"]
  }
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_resource" "proxy" {
  count       = local.rest
  rest_api_id = aws_api_gateway_rest_api.this[0].id
  parent_id   = aws_api_gateway_rest_api.this[0].root_resource_id
  path_part   = "{proxy+}"
}

resource "aws_api_gateway_method" "root" {
  #checkov:skip=CKV_AWS_59:A public website; the app does its own authentication
  #checkov:skip=CKV2_AWS_53:The proxy integration hands the request to the app, which validates it
  count         = local.rest
  rest_api_id   = aws_api_gateway_rest_api.this[0].id
  resource_id   = aws_api_gateway_rest_api.this[0].root_resource_id
  http_method   = "ANY"
  authorization = "NONE"
}

resource "aws_api_gateway_method" "proxy" {
  #checkov:skip=CKV_AWS_59:A public website; the app does its own authentication
  #checkov:skip=CKV2_AWS_53:The proxy integration hands the request to the app, which validates it
  count         = local.rest
  rest_api_id   = aws_api_gateway_rest_api.this[0].id
  resource_id   = aws_api_gateway_resource.proxy[0].id
  http_method   = "ANY"
  authorization = "NONE"
}

resource "aws_api_gateway_integration" "root" {
  count                   = local.rest
  rest_api_id             = aws_api_gateway_rest_api.this[0].id
  resource_id             = aws_api_gateway_rest_api.this[0].root_resource_id
  http_method             = aws_api_gateway_method.root[0].http_method
  integration_http_method = "POST"
  type                    = "AWS_PROXY"
  uri                     = local.rest_uri
  response_transfer_mode  = local.streaming ? "STREAM" : "BUFFERED"
  timeout_milliseconds    = local.streaming ? 900000 : 29000
}

resource "aws_api_gateway_integration" "proxy" {
  count                   = local.rest
  rest_api_id             = aws_api_gateway_rest_api.this[0].id
  resource_id             = aws_api_gateway_resource.proxy[0].id
  http_method             = aws_api_gateway_method.proxy[0].http_method
  integration_http_method = "POST"
  type                    = "AWS_PROXY"
  uri                     = local.rest_uri
  response_transfer_mode  = local.streaming ? "STREAM" : "BUFFERED"
  timeout_milliseconds    = local.streaming ? 900000 : 29000
}

resource "aws_api_gateway_deployment" "this" {
  count       = local.rest
  rest_api_id = aws_api_gateway_rest_api.this[0].id
  triggers = {
    # The transfer mode too: an integration changed in place keeps its id, and a stage serves a deployment's snapshot.
    redeployment = sha1(jsonencode([aws_api_gateway_integration.root[0].id, aws_api_gateway_integration.proxy[0].id, local.rest_uri]))
  }
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV_AWS_73:X-Ray tracing is a paid choice (xray_tracing_enabled)
  #checkov:skip=CKV_AWS_76:The function's log group has every failed request; API access logs are a separate, billed log
  #checkov:skip=CKV_AWS_120:Caching dynamic pages by default would serve one user's page to another; enable it per route if wanted
  #checkov:skip=CKV2_AWS_29:A WAF web ACL is a separate, paid choice (aws_wafv2_web_acl_association)
  #checkov:skip=CKV2_AWS_51:Client certificates are for private backends; this one is the function, invoked through the Lambda service
  #checkov:skip=CKV2_AWS_4:Execution logging needs an account-wide CloudWatch role; the function logs every failed request itself
  count         = local.rest
  rest_api_id   = aws_api_gateway_rest_api.this[0].id
  deployment_id = aws_api_gateway_deployment.this[0].id
  stage_name    = "prod"
  tags          = var.tags
}

resource "aws_lambda_permission" "rest_api" {
  count         = local.rest
  statement_id  = "RestApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this[0].execution_arn}/*/*"
}
