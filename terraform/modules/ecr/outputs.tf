output "repository_urls" {
  description = "Repository URL per name."
  value = {
    (aws_ecr_repository.api.name)    = aws_ecr_repository.api.repository_url
    (aws_ecr_repository.worker.name) = aws_ecr_repository.worker.repository_url
  }
}

output "repository_arns" {
  description = "Repository ARN per name (for the CI push role)."
  value = {
    (aws_ecr_repository.api.name)    = aws_ecr_repository.api.arn
    (aws_ecr_repository.worker.name) = aws_ecr_repository.worker.arn
  }
}
