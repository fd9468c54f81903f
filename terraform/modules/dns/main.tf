data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

resource "aws_route53_zone" "this" {
  name = var.zone_name
}

# --- certificates with DNS validation ---------------------------------------------------------------

resource "aws_acm_certificate" "cloudfront" {
  provider = aws.us_east_1

  domain_name               = var.cloudfront_domain_names[0]
  subject_alternative_names = slice(var.cloudfront_domain_names, 1, length(var.cloudfront_domain_names))
  validation_method         = "DNS"
  key_algorithm             = "EC_prime256v1"

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_acm_certificate" "regional" {
  domain_name               = var.regional_domain_names[0]
  subject_alternative_names = slice(var.regional_domain_names, 1, length(var.regional_domain_names))
  validation_method         = "DNS"
  key_algorithm             = "EC_prime256v1"

  lifecycle {
    create_before_destroy = true
  }
}

locals {
  validation_options = {
    for option in concat(
      tolist(aws_acm_certificate.cloudfront.domain_validation_options),
      tolist(aws_acm_certificate.regional.domain_validation_options),
    ) : option.resource_record_name => option...
  }
}

resource "aws_route53_record" "validation" {
  for_each = local.validation_options

  zone_id         = aws_route53_zone.this.zone_id
  name            = each.value[0].resource_record_name
  type            = each.value[0].resource_record_type
  records         = [each.value[0].resource_record_value]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "cloudfront" {
  provider = aws.us_east_1

  certificate_arn         = aws_acm_certificate.cloudfront.arn
  validation_record_fqdns = [for record in aws_route53_record.validation : record.fqdn]
}

resource "aws_acm_certificate_validation" "regional" {
  certificate_arn         = aws_acm_certificate.regional.arn
  validation_record_fqdns = [for record in aws_route53_record.validation : record.fqdn]
}

# --- CAA: only Amazon may issue for this zone ---------------------------------------------------------

resource "aws_route53_record" "caa" {
  zone_id = aws_route53_zone.this.zone_id
  name    = var.zone_name
  type    = "CAA"
  ttl     = 3600
  records = ["0 issue \"amazon.com\"", "0 issuewild \"amazon.com\""]
}

# --- query logging (must live in us-east-1) -------------------------------------------------------------

resource "aws_cloudwatch_log_group" "queries" {
  provider = aws.us_east_1

  name              = "/aws/route53/${var.zone_name}"
  retention_in_days = var.query_log_retention_days
  kms_key_id        = aws_kms_key.dns_logs.arn
}

data "aws_iam_policy_document" "query_logging" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${data.aws_partition.current.partition}:logs:us-east-1:${data.aws_caller_identity.current.account_id}:log-group:/aws/route53/*"]

    principals {
      type        = "Service"
      identifiers = ["route53.amazonaws.com"]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "query_logging" {
  provider = aws.us_east_1

  policy_name     = "route53-query-logging-${replace(var.zone_name, ".", "-")}"
  policy_document = data.aws_iam_policy_document.query_logging.json
}

resource "aws_route53_query_log" "this" {
  zone_id                  = aws_route53_zone.this.zone_id
  cloudwatch_log_group_arn = aws_cloudwatch_log_group.queries.arn

  depends_on = [aws_cloudwatch_log_resource_policy.query_logging]
}

# --- DNSSEC ---------------------------------------------------------------------------------------

data "aws_iam_policy_document" "dnssec_key" {
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "Route53DNSSEC"
    actions   = ["kms:DescribeKey", "kms:GetPublicKey", "kms:Sign", "kms:CreateGrant"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["dnssec-route53.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

# Asymmetric signing keys cannot rotate automatically; the KSK is rotated by a runbook.
resource "aws_kms_key" "dnssec" {
  provider = aws.us_east_1

  description              = "DNSSEC key-signing key for ${var.zone_name}"
  customer_master_key_spec = "ECC_NIST_P256"
  key_usage                = "SIGN_VERIFY"
  deletion_window_in_days  = 30
  policy                   = data.aws_iam_policy_document.dnssec_key.json
}

data "aws_iam_policy_document" "dns_logs_key" {
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogs"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.us-east-1.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "dns_logs" {
  provider = aws.us_east_1

  description             = "Route 53 query logs for ${var.zone_name}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.dns_logs_key.json
}

resource "aws_route53_key_signing_key" "this" {
  hosted_zone_id             = aws_route53_zone.this.id
  key_management_service_arn = aws_kms_key.dnssec.arn
  name                       = "ksk1"
}

resource "aws_route53_hosted_zone_dnssec" "this" {
  hosted_zone_id = aws_route53_key_signing_key.this.hosted_zone_id

  depends_on = [aws_route53_key_signing_key.this]
}
