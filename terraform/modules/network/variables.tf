variable "name_prefix" {
  description = "Prefix for resource names."
  type        = string
}

variable "cidr_block" {
  description = "VPC CIDR. Must match the NetworkPolicy ipBlocks in manifests/ (10.0.0.0/16)."
  type        = string
  default     = "10.0.0.0/16"
}

variable "az_count" {
  description = "Number of availability zones (3 for production)."
  type        = number
  default     = 3

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 3
    error_message = "Use 2 or 3 availability zones."
  }
}

variable "az_suffixes" {
  description = "Zone letters to use, in order (the first az_count are taken)."
  type        = list(string)
  default     = ["a", "b", "c"]
}

variable "single_nat_gateway" {
  description = "One NAT gateway instead of one per AZ (cheaper, not highly available)."
  type        = bool
  default     = false
}

variable "flow_log_kms_key_arn" {
  description = "KMS key for the VPC flow log group."
  type        = string
}

variable "flow_log_retention_days" {
  description = "Retention of VPC flow logs."
  type        = number
  default     = 365
}

variable "cluster_name" {
  description = "EKS cluster name, for the subnet discovery tags Karpenter and the load balancer controller use."
  type        = string
}
