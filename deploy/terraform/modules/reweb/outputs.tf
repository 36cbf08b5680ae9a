output "url" {
  description = "The app's public address."
  value = {
    "function-url" = one(aws_lambda_function_url.this[*].function_url)
    "http-api"     = one(aws_apigatewayv2_stage.this[*].invoke_url)
    "rest-api"     = one(aws_api_gateway_stage.this[*].invoke_url)
    "alb"          = one([for lb in aws_lb.this : "${var.certificate_arn == null ? "http" : "https"}://${lb.dns_name}/"])
  }[var.front_door]
}

output "function_name" {
  value = aws_lambda_function.this.function_name
}

output "function_arn" {
  value = aws_lambda_function.this.arn
}

output "role_arn" {
  value = aws_iam_role.this.arn
}

output "log_group_name" {
  value = aws_cloudwatch_log_group.this.name
}

output "offload_bucket" {
  value = one(aws_s3_bucket.offload[*].bucket)
}
