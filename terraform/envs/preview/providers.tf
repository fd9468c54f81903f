locals {
  default_tags = {
    Environment = "preview"
    Owner       = var.owner
    CostCenter  = var.cost_center
    Application = "easy-upload"
    ManagedBy   = "terraform"
    PullRequest = tostring(var.pr_number)
  }
}

provider "aws" {
  region              = var.region
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = merge(local.default_tags, var.run_tags)
  }
}
