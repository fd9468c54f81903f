# a public NLB nothing fronts: reachable around CloudFront and the WAF
resource "aws_lb" "api" {
  name               = "api"
  load_balancer_type = "network"
  subnets            = ["subnet-1", "subnet-2"]
}
