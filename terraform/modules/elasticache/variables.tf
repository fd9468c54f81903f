variable "name_prefix" {
  description = "Prefix for resource names."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the cache."
  type        = string
}

variable "data_subnet_ids" {
  description = "Data subnets, one per AZ."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups allowed to connect on 6379."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key for encryption at rest and the slow-log group."
  type        = string
}

variable "node_type" {
  description = "Cache node type."
  type        = string
  default     = "cache.m7g.large"
}

variable "num_cache_clusters" {
  description = "Primary plus replicas (at least 2 for automatic failover)."
  type        = number
  default     = 3

  validation {
    condition     = var.num_cache_clusters >= 2
    error_message = "Multi-AZ with automatic failover needs at least 2 nodes."
  }
}

variable "snapshot_retention_days" {
  description = "Daily snapshot retention."
  type        = number
  default     = 7
}
