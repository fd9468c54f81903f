variable "kms_key_arn" {
  description = "KMS key for image encryption."
  type        = string
}

variable "keep_tagged_images" {
  description = "How many release images to keep per repository."
  type        = number
  default     = 100
}
