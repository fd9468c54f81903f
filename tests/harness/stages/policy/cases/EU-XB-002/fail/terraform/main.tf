resource "aws_ecr_repository" "worker" {
  name = "${var.prefix}-worker"
}

variable "prefix" {
  default = "shop"
}
