resource "aws_lb" "api" {
  name               = "api"
  load_balancer_type = "network"
  subnets            = ["subnet-1", "subnet-2"]
}

resource "aws_wafv2_web_acl" "edge" {
  name  = "edge"
  scope = "CLOUDFRONT"
  default_action {
    allow {}
  }
  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "edge"
    sampled_requests_enabled   = true
  }
}

# the designed edge: CloudFront with the WAF in front of the public NLB
resource "aws_cloudfront_distribution" "edge" {
  enabled    = true
  web_acl_id = aws_wafv2_web_acl.edge.arn
  origin {
    origin_id   = "api"
    domain_name = aws_lb.api.dns_name
  }
}

resource "aws_lb" "internal" {
  name     = "internal"
  internal = true
  subnets  = ["subnet-1", "subnet-2"]
}
