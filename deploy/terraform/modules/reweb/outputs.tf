output "url" {
  description = "The app's address (for Lattice: reachable from the VPCs associated with its service network)."
  value = {
    "function-url" = one(aws_lambda_function_url.this[*].function_url)
    "http-api"     = one(aws_apigatewayv2_stage.this[*].invoke_url)
    "rest-api"     = one(aws_api_gateway_stage.this[*].invoke_url)
    "alb"          = one([for lb in aws_lb.this : "${var.certificate_arn == null ? "http" : "https"}://${lb.dns_name}/"])
    "lattice"      = one([for s in aws_vpclattice_service.this : "https://${coalesce(var.lattice_custom_domain_name, s.dns_entry[0].domain_name)}/"])
  }[var.front_door]
}

output "lattice_service_arn" {
  description = "Lattice only: the service's ARN (the Resource of auth policies that name it)."
  value       = one(aws_vpclattice_service.this[*].arn)
}

output "lattice_service_network_id" {
  description = "Lattice only: the service network it joined (associate your client VPCs with it)."
  value       = local.lattice_network
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
