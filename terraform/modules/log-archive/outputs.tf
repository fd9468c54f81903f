output "bucket_id" {
  description = "Name of the access-log bucket."
  value       = aws_s3_bucket.logs.id
}

output "bucket_domain_name" {
  description = "Domain name CloudFront logging writes to."
  value       = aws_s3_bucket.logs.bucket_domain_name
}
