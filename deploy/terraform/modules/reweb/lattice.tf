# VPC Lattice: the function as a service in a service network, for callers inside your VPCs (service to service):
# 6 MB requests and responses, HTTPS on the service's generated name, auth AWS_IAM (an auth policy naming who may
# call) or NONE. The target group sends event structure V2, the one `reweb local --source lattice` emulates.

data "aws_caller_identity" "lattice" {
  count = local.lattice
}

locals {
  # Counts as conditionals on local.lattice, not `a && b ? 1 : 0`: checkov drops resources counted that way.
  lattice      = var.front_door == "lattice" ? 1 : 0
  lattice_new  = var.lattice_service_network_id == null ? local.lattice : 0
  lattice_iam  = var.lattice_auth_type == "AWS_IAM" ? local.lattice : 0
  lattice_logs = var.lattice_access_logs ? local.lattice : 0
  lattice_network = local.lattice == 0 ? null : (
    local.lattice_new == 1 ? aws_vpclattice_service_network.this[0].id : var.lattice_service_network_id
  )
  # Who may call with AWS_IAM: the principals given, else this account's.
  lattice_principals = local.lattice == 0 ? [] : (
    length(var.lattice_allowed_principals) > 0 ? var.lattice_allowed_principals : [data.aws_caller_identity.lattice[0].account_id]
  )
}

resource "aws_vpclattice_target_group" "this" {
  count = local.lattice
  name  = var.name
  type  = "LAMBDA"
  tags  = var.tags

  config {
    # V2: header and query values as lists, so repeated ones reach the app as sent (V1 joins them with commas);
    # reweb reads V1 too, and V1 is the API's default, hence set here.
    lambda_event_structure_version = "V2"
  }
}

# The permission names this target group alone.
resource "aws_lambda_permission" "lattice" {
  count          = local.lattice
  statement_id   = "VpcLattice"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this.function_name
  principal      = "vpc-lattice.amazonaws.com"
  source_arn     = aws_vpclattice_target_group.this[0].arn
  source_account = data.aws_caller_identity.lattice[0].account_id
}

resource "aws_vpclattice_target_group_attachment" "this" {
  count                   = local.lattice
  target_group_identifier = aws_vpclattice_target_group.this[0].id
  target {
    id = aws_lambda_function.this.arn
  }
  depends_on = [aws_lambda_permission.lattice]
}

resource "aws_vpclattice_service" "this" {
  count              = local.lattice
  name               = var.name
  auth_type          = var.lattice_auth_type
  custom_domain_name = var.lattice_custom_domain_name
  certificate_arn    = var.lattice_custom_domain_name == null ? null : var.certificate_arn
  tags               = var.tags
}

# HTTPS on 443 with the certificate of the service's generated name (or certificate_arn for a domain of yours).
resource "aws_vpclattice_listener" "https" {
  count              = local.lattice
  name               = "https"
  protocol           = "HTTPS"
  port               = 443
  service_identifier = aws_vpclattice_service.this[0].id
  tags               = var.tags

  default_action {
    forward {
      target_groups {
        target_group_identifier = aws_vpclattice_target_group.this[0].id
        weight                  = 100
      }
    }
  }

  depends_on = [aws_lambda_permission.lattice] # no traffic before the function may be invoked
}

resource "aws_vpclattice_listener" "http" {
  count              = var.lattice_http_listener ? local.lattice : 0
  name               = "http"
  protocol           = "HTTP"
  port               = 80
  service_identifier = aws_vpclattice_service.this[0].id
  tags               = var.tags

  default_action {
    forward {
      target_groups {
        target_group_identifier = aws_vpclattice_target_group.this[0].id
        weight                  = 100
      }
    }
  }

  depends_on = [aws_lambda_permission.lattice] # no traffic before the function may be invoked
}

# With AWS_IAM, only the principals named may call (SigV4-signed requests, service vpc-lattice-svcs).
resource "aws_vpclattice_auth_policy" "service" {
  count               = local.lattice_iam
  resource_identifier = aws_vpclattice_service.this[0].arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = local.lattice_principals }
      Action    = "vpc-lattice-svcs:Invoke"
      Resource  = "${aws_vpclattice_service.this[0].arn}/*"
    }]
  })
}

# A service network of its own unless lattice_service_network_id names one; with AWS_IAM it checks the same
# principals.
resource "aws_vpclattice_service_network" "this" {
  count     = local.lattice_new
  name      = var.name
  auth_type = var.lattice_auth_type
  tags      = var.tags
}

resource "aws_vpclattice_auth_policy" "network" {
  count               = var.lattice_auth_type == "AWS_IAM" ? local.lattice_new : 0
  resource_identifier = aws_vpclattice_service_network.this[0].arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = local.lattice_principals }
      Action    = "vpc-lattice-svcs:Invoke"
      Resource  = "*"
    }]
  })
}

resource "aws_vpclattice_service_network_service_association" "this" {
  count                      = local.lattice
  service_identifier         = aws_vpclattice_service.this[0].id
  service_network_identifier = local.lattice_network
  tags                       = var.tags
}

# The VPC whose clients call the service (a VPC joins one service network); none when vpc_id is null.
resource "aws_vpclattice_service_network_vpc_association" "this" {
  count                      = var.vpc_id == null ? 0 : local.lattice
  vpc_identifier             = var.vpc_id
  service_network_identifier = local.lattice_network
  security_group_ids         = length(var.lattice_vpc_security_group_ids) > 0 ? var.lattice_vpc_security_group_ids : null
  tags                       = var.tags
}

# The service's access logs (who called what, status, duration), apart from the function's own log.
resource "aws_cloudwatch_log_group" "lattice_access" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts every log group at rest already; access logs hold no bodies (set kms_key_id for a key of your own)
  #checkov:skip=CKV_AWS_338:Retention is the user's choice (log_retention_days, 30 by default); a year of access logs is rarely wanted
  count = local.lattice_logs
  # Under /aws/vendedlogs/ as AWS advises for logs a service delivers (its resource policy stays small).
  name              = "/aws/vendedlogs/vpc-lattice/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_vpclattice_access_log_subscription" "this" {
  count               = local.lattice_logs
  resource_identifier = aws_vpclattice_service.this[0].arn
  destination_arn     = aws_cloudwatch_log_group.lattice_access[0].arn
  tags                = var.tags
}
