terraform {
  required_version = ">= 1.10.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "= 5.100.0"
    }
  }

  # One state per pull request: preview.yml passes
  #   -backend-config="key=easy-upload/preview/pr-<number>/terraform.tfstate"
  backend "s3" {
    bucket       = "easy-upload-tfstate-staging"
    key          = "easy-upload/preview/unset/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    kms_key_id   = "alias/easy-upload-tfstate"
    use_lockfile = true
  }
}
