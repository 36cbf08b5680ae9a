# A public website on a Function URL, buffered (6 MB answers).
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
  name       = "reweb-app"
  image_uri  = var.image_uri
  front_door = "function-url"
}

output "url" {
  value = module.app.url
}
