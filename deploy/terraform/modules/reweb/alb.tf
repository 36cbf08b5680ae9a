# Application Load Balancer in your VPC, the function as its target: 1 MB requests and responses, single- or
# multi-value headers (reweb detects either from the event), HTTPS when given a certificate.

locals {
  alb   = var.front_door == "alb" ? 1 : 0
  https = var.front_door == "alb" && var.certificate_arn != null ? 1 : 0
}

resource "aws_security_group" "alb" {
  #checkov:skip=CKV_AWS_260:A public website takes HTTP on 80 (redirected to HTTPS with a certificate); ingress_cidr_blocks narrows it
  count       = local.alb
  name_prefix = "${var.name}-alb-"
  description = "reweb load balancer: HTTP and HTTPS in; nothing out (Lambda targets are invoked through the Lambda service)"
  vpc_id      = var.vpc_id
  tags        = var.tags

  ingress {
    description = "HTTP"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = var.ingress_cidr_blocks
  }

  ingress {
    description = "HTTPS"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = var.ingress_cidr_blocks
  }
}

resource "aws_lb" "this" {
  #checkov:skip=CKV_AWS_91:Access logs need a bucket with an ELB write policy; the function's log has every failed request
  #checkov:skip=CKV_AWS_150:Deleted with the module on purpose; set enable_deletion_protection in production
  #checkov:skip=CKV_AWS_131:Dropping header fields with invalid names (an underscore) would change the request the app gets; reweb forwards requests as sent
  #checkov:skip=CKV2_AWS_28:A WAF web ACL is a separate, paid choice (aws_wafv2_web_acl_association)
  #checkov:skip=CKV2_AWS_20:Port 80 redirects to HTTPS when certificate_arn is set; without one HTTP is all there is
  count                      = local.alb
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.subnet_ids
  security_groups            = [aws_security_group.alb[0].id]
  drop_invalid_header_fields = false
  tags                       = var.tags
}

resource "aws_lb_target_group" "this" {
  count                              = local.alb
  name                               = var.name
  target_type                        = "lambda"
  lambda_multi_value_headers_enabled = var.alb_multi_value_headers
  tags                               = var.tags
}

resource "aws_lambda_permission" "alb" {
  count         = local.alb
  statement_id  = "Alb"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "elasticloadbalancing.amazonaws.com"
  source_arn    = aws_lb_target_group.this[0].arn
}

resource "aws_lb_target_group_attachment" "this" {
  count            = local.alb
  target_group_arn = aws_lb_target_group.this[0].arn
  target_id        = aws_lambda_function.this.arn
  depends_on       = [aws_lambda_permission.alb]
}

resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:Redirects to HTTPS when certificate_arn is set; without a certificate HTTP is all there is
  #checkov:skip=CKV_AWS_103:The HTTPS listener uses ELBSecurityPolicy-TLS13-1-2-2021-06; this one is plain HTTP
  count             = local.alb
  load_balancer_arn = aws_lb.this[0].arn
  port              = 80
  protocol          = "HTTP"
  tags              = var.tags

  default_action {
    type             = local.https == 1 ? "redirect" : "forward"
    target_group_arn = local.https == 1 ? null : aws_lb_target_group.this[0].arn
    dynamic "redirect" {
      for_each = local.https == 1 ? [1] : []
      content {
        protocol    = "HTTPS"
        port        = "443"
        status_code = "HTTP_301"
      }
    }
  }
}

resource "aws_lb_listener" "https" {
  count             = local.https
  load_balancer_arn = aws_lb.this[0].arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn
  tags              = var.tags

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this[0].arn
  }
}
