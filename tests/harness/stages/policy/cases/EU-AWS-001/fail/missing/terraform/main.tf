resource "aws_s3_bucket" "raw_uploads" {
  bucket = "shop-raw-uploads"
}

