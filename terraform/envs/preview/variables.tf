variable "pr_number" {
  description = "Pull request number; every name below derives from it."
  type        = number

  validation {
    condition     = var.pr_number > 0 && floor(var.pr_number) == var.pr_number
    error_message = "pr_number must be a positive integer."
  }
}

variable "account_id" {
  description = "The staging account (previews share its cluster, database and cache)."
  type        = string
}

variable "region" {
  description = "Region of the staging cluster."
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

variable "cluster_name" {
  description = "The staging EKS cluster that hosts preview namespaces."
  type        = string
  default     = "easy-upload"
}

variable "run_tags" {
  description = "Tags that mark one harness run (HarnessRun = <run id>, set by --target aws:ENV); its leak check finds leftovers by them."
  type        = map(string)
  default     = {}
}
