# A VPC Lattice service in a service network of its own, callable from one VPC by this account's IAM principals
# (SigV4-signed requests), with access logs. Give lattice_service_network_id to join an existing network instead.
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
  description = "The VPC whose clients call the app (associated with the new service network)."
  type        = string
}

module "app" {
  source                = "../../modules/reweb"
  name                  = "reweb-lattice"
  image_uri             = var.image_uri
  front_door            = "lattice"
  vpc_id                = var.vpc_id
  lattice_auth_type     = "AWS_IAM"
  lattice_http_listener = true
  lattice_access_logs   = true
}

output "url" {
  value = module.app.url
}

output "service_network_id" {
  value = module.app.lattice_service_network_id
}
