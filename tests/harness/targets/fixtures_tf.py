"""Small Terraform fixtures for the provisioning tests."""

from __future__ import annotations

SMALL_ENV = """
provider "aws" {
  region = "us-east-1"
  default_tags {
    tags = {
      Owner = "platform-team"
    }
  }
}

resource "aws_s3_bucket" "inbox" {
  bucket = "fx-inbox"
  tags = {
    Purpose = "tests"
  }
}

resource "aws_s3_bucket" "outbox" {
  bucket = "fx-outbox"
}

resource "aws_s3_bucket_versioning" "inbox" {
  bucket = aws_s3_bucket.inbox.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "inbox" {
  bucket = aws_s3_bucket.inbox.id

  rule {
    id     = "expire-inbox"
    status = "Enabled"
    filter {
      prefix = "tmp/"
    }
    expiration {
      days = 3
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 2
    }
  }

  rule {
    id     = "archive"
    status = "Disabled"
    filter {}
    transition {
      days          = 30
      storage_class = "GLACIER"
    }
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "outbox" {
  bucket = "fx-outbox"
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "outbox" {
  bucket                  = aws_s3_bucket.outbox.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_secretsmanager_secret" "api_key" {
  name        = "fx/api-key"
  description = "A key the app reads."
}

output "raw_bucket" {
  value = aws_s3_bucket.inbox.id
}
"""

DANGLING_REFERENCE = """
resource "aws_s3_bucket" "a" {
  bucket = "fx-a"
}

resource "aws_s3_bucket_versioning" "b" {
  bucket = aws_s3_bucket.missing.id
  versioning_configuration {
    status = "Enabled"
  }
}
"""
