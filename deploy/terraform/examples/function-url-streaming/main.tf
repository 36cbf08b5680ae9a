# A Function URL with response streaming: answers up to 200 MB, sent as the app writes them. Also shows the
# optional pieces: the offload bucket and a secret read from SSM at init (its value never enters Terraform).
terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.28"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "image_uri" {
  description = "The image pushed to ECR (docs/deploy.md, step 2)."
  type        = string
}

variable "db_password_parameter_arn" {
  description = "ARN of an SSM SecureString the app gets as DB_PASSWORD (aws ssm put-parameter --type SecureString ...)."
  type        = string
}

module "app" {
  source         = "../../modules/reweb"
  name           = "reweb-stream"
  image_uri      = var.image_uri
  front_door     = "function-url"
  streaming      = true
  memory_size    = 2048
  timeout        = 120
  offload_bucket = true
  # the pages of this origin fetch() large answers: the bucket gets the CORS rule that needs
  offload_cors_origins = ["https://app.example.com"]
  environment = {
    REWEB_SECRET_DB_PASSWORD = "ssm:${var.db_password_parameter_arn}"
  }
  ssm_parameter_arns = [var.db_password_parameter_arn]
}

output "url" {
  value = module.app.url
}
