# A cheap, ephemeral environment per pull request: a namespace on the staging cluster
# (easy-upload-pr-<n>), its own upload buckets, signing key and Pod Identity roles. PostgreSQL and
# Redis are staging's (a database and a key prefix per PR), so nothing here needs HA or backups;
# `terraform destroy` on PR close removes everything.
locals {
  name          = "easy-upload-pr-${var.pr_number}"
  namespace     = "easy-upload-pr-${var.pr_number}"
  secret_prefix = "easy-upload/preview/pr-${var.pr_number}"
}

data "aws_kms_alias" "s3" {
  name = "alias/easy-upload-staging-s3"
}

data "aws_kms_alias" "secrets" {
  name = "alias/easy-upload-staging-secrets"
}

module "uploads" {
  source               = "../../modules/uploads-storage"
  name_prefix          = local.name
  kms_key_arn          = data.aws_kms_alias.s3.target_key_arn
  access_log_bucket_id = "easy-upload-staging-access-logs"
  force_destroy        = true
}

module "secrets" {
  source               = "../../modules/secrets"
  secret_prefix        = local.secret_prefix
  kms_key_arn          = data.aws_kms_alias.secrets.target_key_arn
  recovery_window_days = 0
}

module "workload_iam" {
  source                     = "../../modules/workload-iam"
  name_prefix                = local.name
  cluster_name               = var.cluster_name
  namespace                  = local.namespace
  raw_bucket_arn             = module.uploads.raw_bucket_arn
  processed_bucket_arn       = module.uploads.processed_bucket_arn
  s3_kms_key_arn             = data.aws_kms_alias.s3.target_key_arn
  secret_name_prefix         = local.secret_prefix
  secrets_kms_key_arn        = data.aws_kms_alias.secrets.target_key_arn
  external_secrets_namespace = null
}
