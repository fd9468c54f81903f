variable "kms_key_arn" {
  description = "KMS key for image encryption."
  type        = string
}

variable "keep_tagged_images" {
  description = "How many release images to keep per repository."
  type        = number
  default     = 100
}

variable "pull_principal_arns" {
  description = "Other accounts' roles that may pull (production's promote role copies staging images by digest)."
  type        = list(string)
  default     = []
}
