variable "environment" {
  description = "Environment name (tags, names, secret prefixes)."
  type        = string
  default     = "staging"
}

variable "account_id" {
  description = "AWS account this environment lives in (guards against applying to the wrong one)."
  type        = string
}

variable "region" {
  description = "Primary region."
  type        = string
  default     = "eu-west-1"
}

variable "owner" {
  description = "Owning team (Owner tag)."
  type        = string
  default     = "platform-team"
}

variable "cost_center" {
  description = "CostCenter tag."
  type        = string
}

variable "zone_name" {
  description = "Public DNS zone of the environment."
  type        = string
}

variable "admin_role_arns" {
  description = "IAM roles with cluster-admin (SSO permission set, CI apply role)."
  type        = list(string)
  default     = []
}

variable "eks_public_access_cidrs" {
  description = "Allow-listed CIDRs for the EKS API; empty means private endpoint only (reach it via VPN)."
  type        = list(string)
  default     = []
}

variable "github_repository" {
  description = "owner/name of the repository whose workflows deploy this environment."
  type        = string
  default     = "example-org/easy-upload"
}

variable "production_promote_role_arns" {
  description = "Production CI role(s) allowed to pull release images from this registry (gha-production-ecr)."
  type        = list(string)
  default     = []
}

variable "run_tags" {
  description = "Tags that mark one harness run (HarnessRun = <run id>, set by --target aws:ENV); its leak check finds leftovers by them."
  type        = map(string)
  default     = {}
}
