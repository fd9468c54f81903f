variable "name_prefix" {
  description = "Prefix for resource names."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "data_subnet_ids" {
  description = "Data subnets (no internet route), one per AZ."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups allowed to connect on 5432 (the EKS cluster security group)."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key for storage, Performance Insights and the managed master secret."
  type        = string
}

variable "engine_version" {
  description = "PostgreSQL version."
  type        = string
  default     = "16.4"
}

variable "instance_class" {
  description = "Instance class."
  type        = string
  default     = "db.m7g.large"
}

variable "allocated_storage" {
  description = "Initial storage in GiB."
  type        = number
  default     = 50
}

variable "max_allocated_storage" {
  description = "Storage autoscaling ceiling in GiB."
  type        = number
  default     = 500
}

variable "backup_retention_days" {
  description = "Automated backup retention (at least 7)."
  type        = number
  default     = 14

  validation {
    condition     = var.backup_retention_days >= 7
    error_message = "Keep automated backups for at least 7 days."
  }
}

variable "database_name" {
  description = "Initial database."
  type        = string
  default     = "easyupload"
}
