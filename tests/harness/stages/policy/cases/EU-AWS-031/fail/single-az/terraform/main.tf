resource "aws_db_instance" "db" {
  identifier                  = "shop"
  engine                      = "postgres"
  instance_class              = "db.t4g.medium"
  allocated_storage           = 20
  username                    = "shop"
  multi_az                    = false
  backup_retention_period     = 1
  manage_master_user_password = true
}
