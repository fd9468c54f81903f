provider "aws" {
  region = "eu-west-1"

  default_tags {
    tags = {
      Environment = "prod"
      Owner       = "platform"
      CostCenter  = "cc-1"
    }
  }
}

resource "aws_sqs_queue" "jobs" {
  name = "jobs"
  tags = { Application = "shop" }
}
