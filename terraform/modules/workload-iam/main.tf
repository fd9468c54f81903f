# Least privilege through EKS Pod Identity:
#   api     may write raw-uploads (multipart included) and read processed-uploads
#   worker  reads raw-uploads and writes processed-uploads
#   external-secrets reads <secret_prefix>/* only
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

locals {
  kms_via_s3 = "s3.${data.aws_region.current.name}.amazonaws.com"
}

data "aws_iam_policy_document" "api" {
  statement {
    sid       = "WriteRawUploads"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["${var.raw_bucket_arn}/*"]
  }

  statement {
    sid       = "ReadProcessedUploads"
    actions   = ["s3:GetObject"]
    resources = ["${var.processed_bucket_arn}/*"]
  }

  statement {
    sid       = "UseBucketKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.s3_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.kms_via_s3]
    }
  }
}

data "aws_iam_policy_document" "worker" {
  statement {
    sid       = "ReadRawUploads"
    actions   = ["s3:GetObject"]
    resources = ["${var.raw_bucket_arn}/*"]
  }

  statement {
    sid       = "WriteProcessedUploads"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["${var.processed_bucket_arn}/*"]
  }

  statement {
    sid       = "UseBucketKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.s3_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.kms_via_s3]
    }
  }
}

data "aws_iam_policy_document" "external_secrets" {
  statement {
    sid     = "ReadAppSecrets"
    actions = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [
      for prefix in concat([var.secret_name_prefix], var.extra_secret_name_prefixes) :
      "arn:${data.aws_partition.current.partition}:secretsmanager:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:secret:${prefix}/*"
    ]
  }

  statement {
    sid       = "DecryptAppSecrets"
    actions   = ["kms:Decrypt"]
    resources = [var.secrets_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

locals {
  workloads = {
    api              = { namespace = var.namespace, service_account = "api", policy = data.aws_iam_policy_document.api.json }
    worker           = { namespace = var.namespace, service_account = "worker", policy = data.aws_iam_policy_document.worker.json }
    external-secrets = { namespace = var.external_secrets_namespace, service_account = "external-secrets", policy = data.aws_iam_policy_document.external_secrets.json }
  }
  associated = { for name, w in local.workloads : name => w if w.namespace != null }
}

resource "aws_iam_role" "this" {
  for_each = local.associated

  name               = "${var.name_prefix}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy" "this" {
  for_each = local.associated

  name   = "least-privilege"
  role   = aws_iam_role.this[each.key].id
  policy = each.value.policy
}

resource "aws_eks_pod_identity_association" "this" {
  for_each = local.associated

  cluster_name    = var.cluster_name
  namespace       = each.value.namespace
  service_account = each.value.service_account
  role_arn        = aws_iam_role.this[each.key].arn
}
