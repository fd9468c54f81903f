output "repository_urls" {
  description = "Repository URL per name."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.repository_url }
}

output "repository_arns" {
  description = "Repository ARN per name (for the CI push role)."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.arn }
}
