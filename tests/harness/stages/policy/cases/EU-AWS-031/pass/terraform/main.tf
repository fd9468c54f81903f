resource "aws_db_instance" "db" {
  identifier                  = "shop"
  engine                      = "postgres"
  instance_class              = "db.t4g.medium"
  allocated_storage           = 20
  username                    = "shop"
  multi_az                    = true
  backup_retention_period     = 14
  manage_master_user_password = true
}
