output "distribution_id" {
  description = "CloudFront distribution id (for cache invalidations on release)."
  value       = aws_cloudfront_distribution.this.id
}

output "distribution_domain_name" {
  description = "CloudFront domain name."
  value       = aws_cloudfront_distribution.this.domain_name
}

output "site_bucket_id" {
  description = "Bucket the release pipeline syncs the static page into."
  value       = aws_s3_bucket.site.id
}

output "web_acl_arn" {
  description = "WAF web ACL ARN."
  value       = aws_wafv2_web_acl.this.arn
}
