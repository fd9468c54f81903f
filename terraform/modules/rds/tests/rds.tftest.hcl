# The database is highly available, encrypted and private, asserted on the plan with a mocked AWS
# provider.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  name_prefix               = "easy-upload-test"
  vpc_id                    = "vpc-0123456789abcdef0"
  data_subnet_ids           = ["subnet-0aaaaaaaaaaaaaaa0", "subnet-0bbbbbbbbbbbbbbb0", "subnet-0ccccccccccccccc0"]
  client_security_group_ids = ["sg-0123456789abcdef0"]
  kms_key_arn               = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
}

run "multi_az_and_private" {
  command = plan

  assert {
    condition     = aws_db_instance.this.multi_az
    error_message = "the database must be Multi-AZ"
  }
  assert {
    condition     = !aws_db_instance.this.publicly_accessible
    error_message = "the database must not be publicly accessible"
  }
  assert {
    condition     = length(aws_db_subnet_group.this.subnet_ids) >= 2
    error_message = "the subnet group must span at least two subnets (AZs)"
  }
}

run "encrypted_with_the_key" {
  command = plan

  assert {
    condition     = aws_db_instance.this.storage_encrypted && aws_db_instance.this.kms_key_id == var.kms_key_arn
    error_message = "storage must be encrypted with the customer-managed key"
  }
  assert {
    condition     = aws_db_instance.this.manage_master_user_password
    error_message = "the master password must be managed by RDS (never in state)"
  }
  assert {
    condition     = aws_db_instance.this.deletion_protection && !aws_db_instance.this.skip_final_snapshot
    error_message = "deletion protection and a final snapshot guard against accidental loss"
  }
}
