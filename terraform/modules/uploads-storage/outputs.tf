output "raw_bucket_id" {
  description = "Name of the raw-uploads bucket."
  value       = aws_s3_bucket.raw.id
}

output "raw_bucket_arn" {
  description = "ARN of the raw-uploads bucket."
  value       = aws_s3_bucket.raw.arn
}

output "processed_bucket_id" {
  description = "Name of the processed-uploads bucket."
  value       = aws_s3_bucket.processed.id
}

output "processed_bucket_arn" {
  description = "ARN of the processed-uploads bucket."
  value       = aws_s3_bucket.processed.arn
}
