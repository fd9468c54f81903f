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

# preview.yml (environment "preview"): exactly what terraform/envs/preview manages, per PR names only.
data "aws_iam_policy_document" "ci_preview" {
  source_policy_documents = [data.aws_iam_policy_document.ci_ecr.json]

  statement {
    sid       = "PreviewState"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"]
    resources = [local.state_bucket_arn, "${local.state_bucket_arn}/easy-upload/preview/*"]
  }

  statement {
    sid       = "PreviewBuckets"
    actions   = ["s3:*"]
    resources = ["arn:aws:s3:::easy-upload-pr-*"]
  }

  statement {
    sid       = "PreviewSecrets"
    actions   = ["secretsmanager:*"]
    resources = ["arn:aws:secretsmanager:${var.region}:${var.account_id}:secret:easy-upload/preview/pr-*"]
  }

  statement {
    sid = "PreviewRoles"
    actions = [
      "iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:TagRole", "iam:UntagRole", "iam:PutRolePolicy",
      "iam:GetRolePolicy", "iam:DeleteRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole", "iam:PassRole", "iam:UpdateAssumeRolePolicy",
    ]
    resources = ["arn:aws:iam::${var.account_id}:role/easy-upload-pr-*"]
  }

  statement {
    sid = "PreviewPodIdentity"
    actions = [
      "eks:CreatePodIdentityAssociation", "eks:DeletePodIdentityAssociation", "eks:DescribePodIdentityAssociation",
      "eks:ListPodIdentityAssociations", "eks:TagResource",
    ]
    resources = [module.eks.cluster_arn, "arn:aws:eks:${var.region}:${var.account_id}:podidentityassociation/${module.eks.cluster_name}/*"]
  }

  statement {
    sid       = "ReadKeys"
    actions   = ["kms:DescribeKey", "kms:ListAliases", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [module.kms.key_arns["s3"], module.kms.key_arns["secrets"], "arn:aws:kms:${var.region}:${var.account_id}:alias/easy-upload-tfstate"]
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
    "preview" = {
      subjects    = ["environment:preview"]
      policy_json = data.aws_iam_policy_document.ci_preview.json
    }
  }
}
