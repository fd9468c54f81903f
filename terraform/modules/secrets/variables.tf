variable "secret_prefix" {
  description = "Name prefix of every secret, e.g. easy-upload/production (External Secrets reads <prefix>/*)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the secrets."
  type        = string
}

variable "recovery_window_days" {
  description = "Days a deleted secret can be restored (0 for preview environments)."
  type        = number
  default     = 30
}

variable "create_token_signing_key" {
  description = "Create the API's token signing key secret (false for shared-credential sets)."
  type        = bool
  default     = true
}

variable "database" {
  description = "Connection details of the app's database user; null when the environment has no database of its own."
  type = object({
    host                   = string
    port                   = number
    dbname                 = string
    username               = string
    master_user_secret_arn = string
    subnet_ids             = list(string)
    security_group_ids     = list(string)
  })
  default = null
}

variable "redis" {
  description = "Redis endpoint; null when the environment has no cache of its own."
  type = object({
    host = string
    port = number
  })
  default = null
}

variable "redis_auth_token" {
  description = "Redis AUTH token (from the elasticache module)."
  type        = string
  default     = null
  sensitive   = true
}

variable "rotation_days" {
  description = "Rotation interval of the database credential."
  type        = number
  default     = 30
}
