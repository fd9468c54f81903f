output "secret_arns" {
  description = "ARNs of the secrets the workloads read (for IAM scoping)."
  value = concat(
    aws_secretsmanager_secret.token_signing_key[*].arn,
    aws_secretsmanager_secret.database[*].arn,
    aws_secretsmanager_secret.redis[*].arn,
  )
}

output "secret_name_prefix" {
  description = "Prefix External Secrets reads below."
  value       = var.secret_prefix
}
