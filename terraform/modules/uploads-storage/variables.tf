variable "name_prefix" {
  description = "Prefix for bucket names, e.g. easy-upload-production."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key used for SSE-KMS on every bucket."
  type        = string
}

variable "access_log_bucket_id" {
  description = "Bucket that receives S3 server access logs (owned by the platform log archive)."
  type        = string
}

# These two defaults are the contract the local target honours: terraform/envs/local uses the same
# literal values and tests/iac/test_drift.py proves that they agree.
variable "raw_expiration_days" {
  description = "Days after which raw (unprocessed) uploads are deleted."
  type        = number
  default     = 7
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which incomplete multipart uploads are aborted."
  type        = number
  default     = 1
}

variable "processed_noncurrent_expiration_days" {
  description = "Days after which non-current versions of processed objects are deleted."
  type        = number
  default     = 30
}

variable "force_destroy" {
  description = "Allow destroying non-empty buckets (preview environments only)."
  type        = bool
  default     = false
}
