locals {
  name          = "easy-upload-${var.environment}"
  cluster_name  = "easy-upload"
  secret_prefix = "easy-upload/${var.environment}"
  web_domain    = var.zone_name
  api_domain    = "api.${var.zone_name}"
  origin_domain = "origin.${var.zone_name}"
  # Secrets Manager prefix of what all preview namespaces share.
  preview_shared_prefix = "easy-upload/preview/shared"
}

module "kms" {
  source      = "../../modules/kms"
  name_prefix = local.name
}

module "logs" {
  source      = "../../modules/log-archive"
  name_prefix = local.name
}

module "network" {
  source               = "../../modules/network"
  name_prefix          = local.name
  cluster_name         = local.cluster_name
  az_count             = 3
  flow_log_kms_key_arn = module.kms.key_arns["logs"]
}

module "eks" {
  source                       = "../../modules/eks"
  cluster_name                 = local.cluster_name
  vpc_id                       = module.network.vpc_id
  private_subnet_ids           = module.network.private_subnet_ids
  endpoint_public_access_cidrs = var.eks_public_access_cidrs
  secrets_kms_key_arn          = module.kms.key_arns["eks"]
  logs_kms_key_arn             = module.kms.key_arns["logs"]
  ebs_kms_key_arn              = module.kms.key_arns["eks"]
  admin_role_arns              = var.admin_role_arns
  system_node_count            = 2
}

module "rds" {
  source                    = "../../modules/rds"
  name_prefix               = local.name
  vpc_id                    = module.network.vpc_id
  data_subnet_ids           = module.network.data_subnet_ids
  client_security_group_ids = [module.eks.cluster_security_group_id]
  kms_key_arn               = module.kms.key_arns["rds"]
  instance_class            = "db.t4g.medium"
  backup_retention_days     = 7
}

module "elasticache" {
  source                    = "../../modules/elasticache"
  name_prefix               = local.name
  vpc_id                    = module.network.vpc_id
  data_subnet_ids           = module.network.data_subnet_ids
  client_security_group_ids = [module.eks.cluster_security_group_id]
  kms_key_arn               = module.kms.key_arns["elasticache"]
  num_cache_clusters        = 2
  node_type                 = "cache.t4g.small"
}

module "uploads" {
  source               = "../../modules/uploads-storage"
  name_prefix          = local.name
  kms_key_arn          = module.kms.key_arns["s3"]
  access_log_bucket_id = module.logs.bucket_id
}

module "secrets" {
  source        = "../../modules/secrets"
  secret_prefix = local.secret_prefix
  kms_key_arn   = module.kms.key_arns["secrets"]

  database = {
    host                   = module.rds.address
    port                   = module.rds.port
    dbname                 = module.rds.database_name
    username               = "easyupload_app"
    master_user_secret_arn = module.rds.master_user_secret_arn
    subnet_ids             = module.network.data_subnet_ids
    security_group_ids     = [module.eks.cluster_security_group_id]
  }

  redis = {
    host = module.elasticache.primary_endpoint
    port = module.elasticache.port
  }
  redis_auth_token = module.elasticache.auth_token
}

module "workload_iam" {
  source               = "../../modules/workload-iam"
  name_prefix          = local.name
  cluster_name         = module.eks.cluster_name
  namespace            = "easy-upload"
  raw_bucket_arn       = module.uploads.raw_bucket_arn
  processed_bucket_arn = module.uploads.processed_bucket_arn
  s3_kms_key_arn       = module.kms.key_arns["s3"]
  secret_name_prefix   = local.secret_prefix
  secrets_kms_key_arn  = module.kms.key_arns["secrets"]

  # Preview environments run as namespaces on this cluster; the operator here serves them too.
  extra_secret_name_prefixes = ["easy-upload/preview"]
}

module "ecr" {
  source      = "../../modules/ecr"
  kms_key_arn = module.kms.key_arns["ecr"]

  # release.yml's promote job copies images by digest into production's registry.
  pull_principal_arns = var.production_promote_role_arns
}

module "dns" {
  source    = "../../modules/dns"
  providers = { aws = aws, aws.us_east_1 = aws.us_east_1 }

  zone_name               = var.zone_name
  cloudfront_domain_names = [local.web_domain, local.api_domain]
  regional_domain_names   = [local.origin_domain]
}

module "frontend" {
  source    = "../../modules/frontend"
  providers = { aws = aws, aws.us_east_1 = aws.us_east_1 }

  name_prefix            = local.name
  domain_names           = [local.web_domain, local.api_domain]
  zone_id                = module.dns.zone_id
  certificate_arn        = module.dns.cloudfront_certificate_arn
  api_origin_domain      = local.origin_domain
  log_bucket_domain_name = module.logs.bucket_domain_name
  access_log_bucket_id   = module.logs.bucket_id
}

# Credentials every preview namespace shares (manifests/overlays/preview reads
# easy-upload/preview/shared/*): a separate, rotated database user and the staging Redis.
module "preview_shared_secrets" {
  source        = "../../modules/secrets"
  secret_prefix = local.preview_shared_prefix
  kms_key_arn   = module.kms.key_arns["secrets"]

  create_token_signing_key = false

  database = {
    host                   = module.rds.address
    port                   = module.rds.port
    dbname                 = "easyupload_preview"
    username               = "easyupload_preview"
    master_user_secret_arn = module.rds.master_user_secret_arn
    subnet_ids             = module.network.data_subnet_ids
    security_group_ids     = [module.eks.cluster_security_group_id]
  }

  redis = {
    host = module.elasticache.primary_endpoint
    port = module.elasticache.port
  }
  redis_auth_token = module.elasticache.auth_token
}
