variable "cluster_name" {
  description = "EKS cluster name (one cluster per account, so a constant 'easy-upload')."
  type        = string
}

variable "kubernetes_version" {
  description = "EKS Kubernetes minor version."
  type        = string
  default     = "1.31"
}

variable "vpc_id" {
  description = "VPC of the cluster."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets for the control-plane ENIs and the nodes."
  type        = list(string)
}

variable "endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the public API endpoint; empty keeps the endpoint private only."
  type        = list(string)
  default     = []

  validation {
    condition     = !contains(var.endpoint_public_access_cidrs, "0.0.0.0/0")
    error_message = "The API endpoint must never be open to the internet."
  }
}

variable "secrets_kms_key_arn" {
  description = "KMS key for envelope encryption of Kubernetes Secrets."
  type        = string
}

variable "logs_kms_key_arn" {
  description = "KMS key for the control-plane log group."
  type        = string
}

variable "ebs_kms_key_arn" {
  description = "KMS key for node root volumes."
  type        = string
}

variable "log_retention_days" {
  description = "Control-plane log retention."
  type        = number
  default     = 365
}

variable "admin_role_arns" {
  description = "IAM roles (SSO permission sets, CI) granted cluster-admin through EKS access entries."
  type        = list(string)
  default     = []
}

variable "system_node_instance_types" {
  description = "Instance types of the managed node group that runs Karpenter and cluster add-ons."
  type        = list(string)
  default     = ["m7g.large"]
}

variable "system_node_count" {
  description = "Nodes in the system node group (one per AZ)."
  type        = number
  default     = 3
}

variable "karpenter_chart_version" {
  description = "Karpenter Helm chart version."
  type        = string
  default     = "1.1.1"
}
