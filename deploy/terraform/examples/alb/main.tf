# An internet-facing Application Load Balancer in an existing VPC (single-value headers), HTTPS with a certificate.
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

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  description = "Two or more public subnets in different Availability Zones."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate for HTTPS (null: HTTP on port 80 only)."
  type        = string
  default     = null
}

module "app" {
  source                  = "../../modules/reweb"
  name                    = "reweb-alb"
  image_uri               = var.image_uri
  front_door              = "alb"
  vpc_id                  = var.vpc_id
  subnet_ids              = var.subnet_ids
  certificate_arn         = var.certificate_arn
  alb_multi_value_headers = false
}

output "url" {
  value = module.app.url
}
