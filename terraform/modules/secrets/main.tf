data "aws_region" "current" {}
data "aws_partition" "current" {}

# The HMAC key that signs upload tokens. Its value is written once by the bootstrap runbook (and by
# the local target locally), never by Terraform, so it is in neither code nor state.
resource "aws_secretsmanager_secret" "token_signing_key" {
  count = var.create_token_signing_key ? 1 : 0

  name                    = "${var.secret_prefix}/token-signing-key"
  description             = "HMAC key the API uses to sign upload tokens."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_days
}

# --- database credential of the application user, rotated (multi-user) by AWS's own function -------

resource "aws_secretsmanager_secret" "database" {
  count = var.database == null ? 0 : 1

  name                    = "${var.secret_prefix}/database"
  description             = "PostgreSQL credential of the easy-upload application user."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_days
}

# Only the connection metadata is written here; the rotation function generates the password on
# its first (immediate) rotation, using the RDS-managed master secret to create the user.
resource "aws_secretsmanager_secret_version" "database" {
  count = var.database == null ? 0 : 1

  secret_id = aws_secretsmanager_secret.database[0].id
  secret_string = jsonencode({
    engine    = "postgres"
    host      = var.database.host
    port      = var.database.port
    dbname    = var.database.dbname
    username  = var.database.username
    masterarn = var.database.master_user_secret_arn
  })

  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "aws_serverlessapplicationrepository_cloudformation_stack" "rotation" {
  count = var.database == null ? 0 : 1

  name             = "${replace(var.secret_prefix, "/", "-")}-db-rotation"
  application_id   = "arn:${data.aws_partition.current.partition}:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSPostgreSQLRotationMultiUser"
  semantic_version = "1.1.367"
  capabilities     = ["CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY"]

  parameters = {
    endpoint            = "https://secretsmanager.${data.aws_region.current.name}.amazonaws.com"
    functionName        = "${replace(var.secret_prefix, "/", "-")}-db-rotation"
    vpcSubnetIds        = join(",", var.database.subnet_ids)
    vpcSecurityGroupIds = join(",", var.database.security_group_ids)
    kmsKeyArn           = var.kms_key_arn
  }
}

resource "aws_secretsmanager_secret_rotation" "database" {
  count = var.database == null ? 0 : 1

  secret_id           = aws_secretsmanager_secret.database[0].id
  rotation_lambda_arn = aws_serverlessapplicationrepository_cloudformation_stack.rotation[0].outputs["RotationLambdaARN"]
  rotate_immediately  = true

  rotation_rules {
    automatically_after_days = var.rotation_days
  }

  depends_on = [aws_secretsmanager_secret_version.database]
}

# --- Redis AUTH token ---------------------------------------------------------------------------------

resource "aws_secretsmanager_secret" "redis" {
  count = var.redis == null ? 0 : 1

  name                    = "${var.secret_prefix}/redis"
  description             = "ElastiCache endpoint and AUTH token."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_days
}

resource "aws_secretsmanager_secret_version" "redis" {
  count = var.redis == null ? 0 : 1

  secret_id = aws_secretsmanager_secret.redis[0].id
  secret_string = jsonencode({
    host       = var.redis.host
    port       = var.redis.port
    auth_token = var.redis_auth_token
  })
}
