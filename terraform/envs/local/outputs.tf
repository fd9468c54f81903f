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
  # The app reads the value at start: the harness starts it once every output is in the state,
  # so this output must wait for the version that holds the value.
  depends_on = [aws_secretsmanager_secret_version.token_signing_key]
}
