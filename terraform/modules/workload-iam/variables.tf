variable "name_prefix" {
  description = "Prefix for role names."
  type        = string
}

variable "cluster_name" {
  description = "EKS cluster the Pod Identity associations belong to."
  type        = string
}

variable "namespace" {
  description = "Kubernetes namespace of the app (easy-upload, or easy-upload-pr-<n> for previews)."
  type        = string
}

variable "raw_bucket_arn" {
  description = "raw-uploads bucket ARN."
  type        = string
}

variable "processed_bucket_arn" {
  description = "processed-uploads bucket ARN."
  type        = string
}

variable "s3_kms_key_arn" {
  description = "KMS key of both upload buckets."
  type        = string
}

variable "secret_name_prefix" {
  description = "Secrets Manager prefix External Secrets may read (e.g. easy-upload/production)."
  type        = string
}

variable "extra_secret_name_prefixes" {
  description = "Further prefixes External Secrets may read (staging's operator also serves previews)."
  type        = list(string)
  default     = []
}

variable "secrets_kms_key_arn" {
  description = "KMS key of the secrets."
  type        = string
}

variable "external_secrets_namespace" {
  description = "Namespace of the External Secrets Operator (null: association managed elsewhere, e.g. previews)."
  type        = string
  default     = "external-secrets"
}
