variable "name_prefix" {
  description = "Prefix for the log bucket name."
  type        = string
}

variable "retention_days" {
  description = "Days to keep access logs."
  type        = number
  default     = 365
}

variable "force_destroy" {
  description = "Allow destroying a non-empty log bucket (preview only)."
  type        = bool
  default     = false
}
