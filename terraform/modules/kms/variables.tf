variable "name_prefix" {
  description = "Prefix for key aliases, e.g. easy-upload-production."
  type        = string
}

variable "purposes" {
  description = "One customer-managed key per purpose (eks, s3, rds, elasticache, secrets, logs, ecr)."
  type        = set(string)
  default     = ["eks", "s3", "rds", "elasticache", "secrets", "logs", "ecr"]
}

variable "deletion_window_in_days" {
  description = "Waiting period before a scheduled key deletion."
  type        = number
  default     = 30
}
