# Behind an API Gateway REST API (regional, stage prod, binary bodies passed through).
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
  name       = "reweb-rest-api"
  image_uri  = var.image_uri
  front_door = "rest-api"
  timeout    = 29
  # streaming = true  # response streaming (STREAM transfer mode): past 10 MB and up to 15 minutes (timeout up to 900)
}

output "url" {
  value = module.app.url
}
