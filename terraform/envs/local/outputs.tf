output "raw_bucket" {
  description = "Raw uploads bucket name."
  value       = aws_s3_bucket.raw_uploads.id
}

output "processed_bucket" {
  description = "Processed uploads bucket name."
  value       = aws_s3_bucket.processed_uploads.id
}

output "token_signing_key_secret_id" {
  description = "Secrets Manager id of the token signing key."
  value       = aws_secretsmanager_secret.token_signing_key.name
}
