terraform {
  required_version = ">= 1.10.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "= 5.100.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "= 2.17.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "= 3.6.3"
    }
  }

  # Remote state: versioned, KMS-encrypted bucket in the production account, S3-native locking
  # (use_lockfile, Terraform >= 1.10). Created once by the bootstrap runbook.
  backend "s3" {
    bucket       = "easy-upload-tfstate-staging"
    key          = "easy-upload/staging/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    kms_key_id   = "alias/easy-upload-tfstate"
    use_lockfile = true
  }
}
