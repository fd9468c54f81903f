# Roles the GitHub workflows assume through OIDC (see .github/workflows/). No access keys exist.
locals {
  state_bucket_arn = "arn:aws:s3:::easy-upload-tfstate-${var.environment}"
}

data "aws_iam_policy_document" "ci_state" {
  statement {
    sid       = "TerraformState"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"]
    resources = [local.state_bucket_arn, "${local.state_bucket_arn}/*"]
  }

  statement {
    sid       = "TerraformStateKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = ["arn:aws:kms:${var.region}:${var.account_id}:alias/easy-upload-tfstate"]
  }
}

data "aws_iam_policy_document" "ci_ecr" {
  statement {
    sid       = "Login"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PushReleaseImages"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:DescribeImages",
      "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
    ]
    resources = values(module.ecr.repository_arns)
  }

  # Promotion reads the other account's release repositories (their policy must allow it too).
  statement {
    sid       = "PullReleaseImagesForPromotion"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = ["arn:aws:ecr:${var.region}:*:repository/easy-upload-*"]
  }
}

module "github_oidc" {
  source     = "../../modules/github-oidc"
  repository = var.github_repository

  roles = {
    # infra.yml plan job (environment "<env>-plan"): read-only plus state access.
    "${var.environment}-plan" = {
      subjects            = ["environment:${var.environment}-plan"]
      policy_json         = data.aws_iam_policy_document.ci_state.json
      managed_policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    }
    # infra.yml apply job (protected environment): manages the whole stack.
    "${var.environment}-apply" = {
      subjects            = ["environment:${var.environment}"]
      policy_json         = data.aws_iam_policy_document.ci_state.json
      managed_policy_arns = ["arn:aws:iam::aws:policy/PowerUserAccess", "arn:aws:iam::aws:policy/IAMFullAccess"]
      max_session_hours   = 2
    }
    # release.yml: push images (staging) or copy them in by digest (production).
    "${var.environment}-ecr" = {
      subjects    = ["environment:${var.environment}"]
      policy_json = data.aws_iam_policy_document.ci_ecr.json
    }
  }
}
