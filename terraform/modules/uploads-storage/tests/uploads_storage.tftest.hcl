# What the uploads buckets promise, asserted on the plan with a mocked AWS provider (no account
# needed): raw uploads expire, nothing is public, everything is encrypted with the given key.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  name_prefix          = "easy-upload-test"
  kms_key_arn          = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
  access_log_bucket_id = "easy-upload-test-access-logs"
}

run "raw_uploads_expire" {
  command = plan

  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.raw.rule[0].status == "Enabled"
    error_message = "the raw uploads lifecycle rule must be enabled"
  }
  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.raw.rule[0].expiration[0].days == 7
    error_message = "raw uploads must expire after 7 days by default"
  }
  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.raw.rule[0].abort_incomplete_multipart_upload[0].days_after_initiation == 1
    error_message = "incomplete multipart uploads must be aborted after a day"
  }
}

run "no_bucket_is_public" {
  command = plan

  assert {
    condition = alltrue([for block in [aws_s3_bucket_public_access_block.raw, aws_s3_bucket_public_access_block.processed] :
    block.block_public_acls && block.block_public_policy && block.ignore_public_acls && block.restrict_public_buckets])
    error_message = "both buckets must block every kind of public access"
  }
  assert {
    condition     = aws_s3_bucket_ownership_controls.raw.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (BucketOwnerEnforced)"
  }
}

run "everything_is_encrypted_with_the_key" {
  command = plan

  assert {
    condition = alltrue([for config in [aws_s3_bucket_server_side_encryption_configuration.raw, aws_s3_bucket_server_side_encryption_configuration.processed] :
    one(one(config.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"])
    error_message = "both buckets must use SSE-KMS"
  }
  assert {
    condition = alltrue([for config in [aws_s3_bucket_server_side_encryption_configuration.raw, aws_s3_bucket_server_side_encryption_configuration.processed] :
    one(one(config.rule).apply_server_side_encryption_by_default).kms_master_key_id == var.kms_key_arn])
    error_message = "both buckets must use the customer-managed key they are given"
  }
  assert {
    condition     = aws_s3_bucket_versioning.raw.versioning_configuration[0].status == "Enabled" && aws_s3_bucket_versioning.processed.versioning_configuration[0].status == "Enabled"
    error_message = "both buckets must be versioned"
  }
}

run "a_shorter_expiry_is_honoured" {
  command = plan

  variables {
    raw_expiration_days = 2
  }

  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.raw.rule[0].expiration[0].days == 2
    error_message = "raw_expiration_days must reach the lifecycle rule"
  }
}
