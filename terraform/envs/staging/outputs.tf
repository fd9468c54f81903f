output "cluster_name" {
  description = "EKS cluster name."
  value       = module.eks.cluster_name
}

output "raw_bucket" {
  description = "raw-uploads bucket."
  value       = module.uploads.raw_bucket_id
}

output "processed_bucket" {
  description = "processed-uploads bucket."
  value       = module.uploads.processed_bucket_id
}

output "ecr_repositories" {
  description = "ECR repository URLs."
  value       = module.ecr.repository_urls
}

output "cloudfront_distribution_id" {
  description = "Distribution id for cache invalidations."
  value       = module.frontend.distribution_id
}

output "karpenter_node_role" {
  description = "Node role referenced by manifests/platform/karpenter."
  value       = module.eks.karpenter_node_role_name
}
