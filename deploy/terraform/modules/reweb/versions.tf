terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.28 added aws_lambda_permission.invoked_via_function_url (public Function URLs need it since Oct 2025).
      version = ">= 6.28"
    }
  }
}
