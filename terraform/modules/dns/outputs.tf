output "zone_id" {
  description = "Hosted zone id."
  value       = aws_route53_zone.this.zone_id
}

output "cloudfront_certificate_arn" {
  description = "Validated us-east-1 certificate for CloudFront."
  value       = aws_acm_certificate_validation.cloudfront.certificate_arn
}

output "regional_certificate_arn" {
  description = "Validated regional certificate for the API origin."
  value       = aws_acm_certificate_validation.regional.certificate_arn
}

output "name_servers" {
  description = "Delegate the zone to these."
  value       = aws_route53_zone.this.name_servers
}
