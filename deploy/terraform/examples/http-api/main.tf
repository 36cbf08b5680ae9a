# Behind an API Gateway HTTP API (payload 2.0, $default route).
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

module "app" {
  source     = "../../modules/reweb"
  name       = "reweb-http-api"
  image_uri  = var.image_uri
  front_door = "http-api"
  timeout    = 29
}

output "url" {
  value = module.app.url
}
