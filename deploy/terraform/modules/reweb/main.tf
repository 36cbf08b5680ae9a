# reweb: an unmodified web app in a container image on AWS Lambda, behind the front door var.front_door picks
# (function_url.tf, http_api.tf, rest_api.tf, alb.tf, lattice.tf). See docs/deploy.md.

data "aws_partition" "current" {}

locals {
  streaming = contains(["function-url", "rest-api"], var.front_door) && var.streaming
  environment = merge(
    {
      REWEB_APPLICATION_PORT = tostring(var.app_port)
      REWEB_WAIT_PATH        = var.wait_path
      # Must match the Function URL's invoke mode or the REST integration's transfer mode: reweb answers with a
      # streaming prelude only when asked to.
      REWEB_INVOKE_MODE = local.streaming ? "response_stream" : "buffered"
    },
    var.offload_bucket ? { REWEB_OFFLOAD_BUCKET = aws_s3_bucket.offload[0].bucket } : {},
    var.environment,
  )
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_50:X-Ray tracing is a paid choice (tracing_config mode Active, and xray:PutTraceSegments on the role)
  #checkov:skip=CKV_AWS_116:Invoked synchronously by its front door; a dead-letter queue serves asynchronous invocations only
  #checkov:skip=CKV_AWS_117:A public website needs no VPC (ALB targets are invoked through the Lambda service); add vpc_config only to reach private resources
  #checkov:skip=CKV_AWS_173:The environment holds settings, no secret (secrets are read from SSM / Secrets Manager at init); Lambda encrypts it at rest
  #checkov:skip=CKV_AWS_272:Code signing applies to zip packages, not container images
  function_name                  = var.name
  package_type                   = "Image"
  image_uri                      = var.image_uri
  architectures                  = [var.architecture]
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  role                           = aws_iam_role.this.arn
  reserved_concurrent_executions = var.reserved_concurrency
  tags                           = var.tags

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  environment {
    variables = local.environment
  }

  depends_on = [aws_iam_role_policy.this]
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts every log group at rest already; reweb logs no bodies and no secret (set kms_key_id for a key of your own)
  #checkov:skip=CKV_AWS_338:Retention is the user's choice (log_retention_days, 30 by default); a year of request logs is rarely wanted
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

# Least privilege: this function's log group, and only what reweb calls (no AWSLambdaBasicExecutionRole).
resource "aws_iam_role" "this" {
  name = var.name
  tags = var.tags
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

data "aws_iam_policy_document" "this" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  dynamic "statement" {
    for_each = var.offload_bucket ? [1] : []
    content {
      # PutObject covers CreateMultipartUpload, UploadPart and CompleteMultipartUpload; GetObject is what the
      # presigned links are signed with.
      actions   = ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"]
      resources = ["${aws_s3_bucket.offload[0].arn}/*"]
    }
  }

  dynamic "statement" {
    for_each = length(var.ssm_parameter_arns) > 0 ? [1] : []
    content {
      actions   = ["ssm:GetParameters"]
      resources = var.ssm_parameter_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.secret_arns) > 0 ? [1] : []
    content {
      actions   = ["secretsmanager:GetSecretValue"]
      resources = var.secret_arns
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [1]
    content {
      actions   = ["kms:Decrypt"]
      resources = [var.kms_key_arn]
      condition {
        test     = "StringLike"
        variable = "kms:ViaService"
        values   = ["ssm.*.amazonaws.com", "secretsmanager.*.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "reweb"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

# Responses too large for the front door go here; reweb hands the client a presigned link.
resource "aws_s3_bucket" "offload" {
  #checkov:skip=CKV_AWS_18:Objects live minutes, written only by this function, read only through its presigned links; access logs would outlive them
  #checkov:skip=CKV_AWS_21:Each object is written once and expires; versioning would only keep expired responses longer
  #checkov:skip=CKV_AWS_144:Cross-region replication of responses that expire within a day serves no one
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256) is set; a KMS key would add a kms:GenerateDataKey call to every offloaded response
  #checkov:skip=CKV2_AWS_62:Nothing reacts to these objects; event notifications have no consumer
  count         = var.offload_bucket ? 1 : 0
  bucket_prefix = "${var.name}-offload-"
  force_destroy = true # its objects are disposable by design
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "offload" {
  count                   = var.offload_bucket ? 1 : 0
  bucket                  = aws_s3_bucket.offload[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "offload" {
  count  = var.offload_bucket ? 1 : 0
  bucket = aws_s3_bucket.offload[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "offload" {
  count  = var.offload_bucket ? 1 : 0
  bucket = aws_s3_bucket.offload[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "offload" {
  count  = var.offload_bucket ? 1 : 0
  bucket = aws_s3_bucket.offload[0].id
  rule {
    id     = "expire-offloaded-responses"
    status = "Enabled"
    filter {}
    expiration {
      days = var.offload_expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

# A fetch() that follows reweb's redirect is a CORS request to S3: it needs this rule (docs/offload.md). Any
# request header, as the page's own headers come along on the redirect; the presigned URL is the key.
resource "aws_s3_bucket_cors_configuration" "offload" {
  count  = var.offload_bucket && length(var.offload_cors_origins) > 0 ? 1 : 0
  bucket = aws_s3_bucket.offload[0].id
  cors_rule {
    allowed_methods = ["GET", "HEAD"]
    allowed_origins = var.offload_cors_origins
    allowed_headers = ["*"]
    expose_headers  = ["Content-Length", "Content-Range", "Content-Disposition", "Content-Encoding", "Accept-Ranges", "ETag", "Last-Modified"]
    max_age_seconds = 3600
  }
}

resource "aws_s3_bucket_policy" "offload" {
  count  = var.offload_bucket ? 1 : 0
  bucket = aws_s3_bucket.offload[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "TlsOnly"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.offload[0].arn, "${aws_s3_bucket.offload[0].arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}
