# What a user sets. Nothing secret belongs here: secrets stay in SSM / Secrets Manager and reach the app through
# REWEB_SECRET_<NAME>=ssm:...|secretsmanager:... in `environment`, read by reweb at init.

variable "name" {
  description = "Name of the function, its role, log group and front door."
  type        = string
  default     = "reweb-app"
}

variable "image_uri" {
  description = "The app's image in ECR, with reweb as its ENTRYPOINT (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME:TAG)."
  type        = string
}

variable "front_door" {
  description = "function-url, http-api, rest-api, alb or lattice."
  type        = string
  default     = "function-url"
  validation {
    condition     = contains(["function-url", "http-api", "rest-api", "alb", "lattice"], var.front_door)
    error_message = "front_door must be one of function-url, http-api, rest-api, alb, lattice."
  }
}

variable "architecture" {
  type    = string
  default = "x86_64"
  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "memory_size" {
  type    = number
  default = 1024
}

variable "timeout" {
  description = "Seconds per invocation. API Gateway gives up after 29-30 s whatever this says."
  type        = number
  default     = 30
}

variable "app_port" {
  description = "Port the app listens on, on 127.0.0.1 (REWEB_APPLICATION_PORT)."
  type        = number
  default     = 8000
}

variable "wait_path" {
  description = "Path reweb polls until the app answers (REWEB_WAIT_PATH)."
  type        = string
  default     = "/"
}

variable "environment" {
  description = "More of the app's and reweb's settings (README, Settings), e.g. REWEB_SECRET_DB_PASSWORD = \"ssm:/myapp/db\"."
  type        = map(string)
  default     = {}
}

variable "streaming" {
  description = "Function URL or REST API: response streaming (Function URL up to 200 MB; REST up to 15 minutes, past 10 MB at 2 MB/s) instead of buffered (6 MB)."
  type        = bool
  default     = false
}

variable "function_url_auth_type" {
  description = "NONE is a public website; AWS_IAM requires SigV4-signed requests (e.g. behind CloudFront OAC)."
  type        = string
  default     = "NONE"
}

variable "vpc_id" {
  description = "ALB: the VPC the load balancer lives in. Lattice: a VPC whose clients may call the service, associated with its service network (null: none)."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "ALB only: two or more public subnets in different Availability Zones."
  type        = list(string)
  default     = []
}

variable "alb_multi_value_headers" {
  description = "ALB only: lambda_multi_value_headers_enabled (repeated headers and query keys reach the app as sent)."
  type        = bool
  default     = false
}

variable "certificate_arn" {
  description = "ALB: an ACM certificate for HTTPS on 443 (port 80 then redirects); null serves HTTP on 80 only. Lattice: the certificate of lattice_custom_domain_name."
  type        = string
  default     = null
}

variable "ingress_cidr_blocks" {
  description = "ALB only: who may reach the load balancer."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "lattice_service_network_id" {
  description = "Lattice only: an existing service network (sn-... or its ARN) to join; null creates one."
  type        = string
  default     = null
}

variable "lattice_vpc_security_group_ids" {
  description = "Lattice only, with vpc_id: security groups on the VPC association (only some of the VPC's clients may call)."
  type        = list(string)
  default     = []
}

variable "lattice_auth_type" {
  description = "Lattice only: AWS_IAM (SigV4-signed callers, an auth policy naming who may call) or NONE (any client that reaches the service network)."
  type        = string
  default     = "AWS_IAM"
  validation {
    condition     = contains(["NONE", "AWS_IAM"], var.lattice_auth_type)
    error_message = "lattice_auth_type must be NONE or AWS_IAM."
  }
}

variable "lattice_allowed_principals" {
  description = "Lattice only, with AWS_IAM: AWS accounts or IAM principal ARNs allowed to call (vpc-lattice-svcs:Invoke); empty allows this account's."
  type        = list(string)
  default     = []
}

variable "lattice_http_listener" {
  description = "Lattice only: also listen for plain HTTP on port 80 (HTTPS on 443 is always on)."
  type        = bool
  default     = false
}

variable "lattice_custom_domain_name" {
  description = "Lattice only: a domain name of your own for the service (with certificate_arn); null keeps the generated one."
  type        = string
  default     = null
}

variable "lattice_access_logs" {
  description = "Lattice only: send the service's access logs to a log group of their own (log_retention_days)."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  type    = number
  default = 30
}

variable "reserved_concurrency" {
  description = "Most instances at once; -1 leaves the account's unreserved pool."
  type        = number
  default     = -1
}

variable "offload_bucket" {
  description = "Create an S3 bucket for responses over the payload limit (REWEB_OFFLOAD_BUCKET), emptied by a lifecycle rule."
  type        = bool
  default     = false
}

variable "offload_expiration_days" {
  type    = number
  default = 1
}

variable "offload_cors_origins" {
  description = "Origins whose pages fetch() responses large enough to be offloaded (the bucket's CORS rule, GET and HEAD); [\"*\"] when the pages are on another origin than the app (their browser then sends Origin null to S3). Empty: no rule (links, downloads and media elements need none)."
  type        = list(string)
  default     = []
}

variable "ssm_parameter_arns" {
  description = "SSM parameters the function may read (ssm:GetParameters)."
  type        = list(string)
  default     = []
}

variable "secret_arns" {
  description = "Secrets Manager secrets the function may read (secretsmanager:GetSecretValue)."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "Customer managed key of those SecureStrings or secrets (null for the AWS managed keys)."
  type        = string
  default     = null
}

variable "tags" {
  type    = map(string)
  default = {}
}
