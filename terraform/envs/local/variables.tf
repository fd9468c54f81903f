variable "aws_endpoint" {
  description = "AWS emulator endpoint (moto server or LocalStack)."
  type        = string
  default     = "http://127.0.0.1:4566"
}

variable "aws_region" {
  description = "Region the emulator pretends to be."
  type        = string
  default     = "us-east-1"
}
