variable "name_prefix" {
  description = "Prefix for resource names."
  type        = string
}

variable "domain_names" {
  description = "Aliases of the distribution (first is the primary name)."
  type        = list(string)
}

variable "zone_id" {
  description = "Route 53 zone for the alias records."
  type        = string
}

variable "certificate_arn" {
  description = "Validated ACM certificate in us-east-1."
  type        = string
}

variable "api_origin_domain" {
  description = "HTTPS origin serving /api/* (the ingress load balancer's name in the zone)."
  type        = string
}

variable "log_bucket_domain_name" {
  description = "Bucket domain for CloudFront standard logs."
  type        = string
}

variable "access_log_bucket_id" {
  description = "Bucket for S3 server access logs of the site bucket."
  type        = string
}

variable "rate_limit_per_5_minutes" {
  description = "Requests per client IP per 5 minutes before WAF blocks."
  type        = number
  default     = 2000
}

variable "price_class" {
  description = "CloudFront price class."
  type        = string
  default     = "PriceClass_100"
}

variable "waf_log_retention_days" {
  description = "WAF log retention."
  type        = number
  default     = 365
}
