variable "zone_name" {
  description = "Public hosted zone, e.g. easy-upload.example.com."
  type        = string
}

variable "cloudfront_domain_names" {
  description = "Names for the CloudFront certificate (issued in us-east-1)."
  type        = list(string)
}

variable "regional_domain_names" {
  description = "Names for the regional certificate (the API origin load balancer)."
  type        = list(string)
}

variable "query_log_retention_days" {
  description = "Retention of Route 53 query logs."
  type        = number
  default     = 365
}
