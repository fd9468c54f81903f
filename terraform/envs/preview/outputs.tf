output "namespace" {
  description = "Kubernetes namespace of this preview."
  value       = local.namespace
}

output "raw_bucket" {
  description = "raw-uploads bucket of this preview."
  value       = module.uploads.raw_bucket_id
}

output "processed_bucket" {
  description = "processed-uploads bucket of this preview."
  value       = module.uploads.processed_bucket_id
}
