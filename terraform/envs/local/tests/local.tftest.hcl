# What the local target applies, asserted on the plan with a mocked AWS provider: the raw uploads
# expire, nothing is public, both buckets are encrypted and versioned, and the secret's value is
# write-only (the harness applies this env for real against the AWS emulator on every run).

mock_provider "aws" {}

variables {
  aws_endpoint      = "http://127.0.0.1:4566"
  token_signing_key = "test"
  run_tags = {
    HarnessRun = "tftest"
  }
}

run "raw_uploads_expire" {
  command = plan

  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.raw_uploads.rule[0].expiration[0].days == 7
    error_message = "raw uploads must expire after 7 days (as modules/uploads-storage does)"
  }
  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.raw_uploads.rule[0].abort_incomplete_multipart_upload[0].days_after_initiation == 1
    error_message = "incomplete multipart uploads must be aborted after a day"
  }
}

run "private_encrypted_versioned" {
  command = plan

  assert {
    condition = alltrue([for block in [aws_s3_bucket_public_access_block.raw_uploads, aws_s3_bucket_public_access_block.processed_uploads] :
    block.block_public_acls && block.block_public_policy && block.ignore_public_acls && block.restrict_public_buckets])
    error_message = "both buckets must block every kind of public access"
  }
  assert {
    condition = alltrue([for config in [aws_s3_bucket_server_side_encryption_configuration.raw_uploads, aws_s3_bucket_server_side_encryption_configuration.processed_uploads] :
    one(one(config.rule).apply_server_side_encryption_by_default).sse_algorithm != ""])
    error_message = "both buckets must be encrypted at rest"
  }
  assert {
    condition     = aws_s3_bucket_versioning.raw_uploads.versioning_configuration[0].status == "Enabled"
    error_message = "the raw bucket must be versioned"
  }
}

run "everything_is_tagged" {
  command = plan

  assert {
    condition     = alltrue([for key in ["Environment", "Owner", "CostCenter", "Application"] : contains(keys(local.default_tags), key)])
    error_message = "the provider's default_tags must carry Environment, Owner, CostCenter and Application"
  }
  assert {
    condition     = local.default_tags["HarnessRun"] == "tftest"
    error_message = "the run's tag must reach default_tags (the leak check finds resources by it)"
  }
}

run "names_follow_the_suffix" {
  command = plan

  variables {
    name_suffix = "-abc123"
  }

  assert {
    condition     = aws_s3_bucket.raw_uploads.bucket == "raw-uploads-abc123" && aws_secretsmanager_secret.token_signing_key.name == "easy-upload/local/token-signing-key-abc123"
    error_message = "runs sharing one emulator need their own names"
  }
}
