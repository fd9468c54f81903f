resource "aws_s3_bucket" "raw_uploads" {
  bucket = "shop-raw-uploads"
}

resource "aws_s3_bucket_lifecycle_configuration" "raw_uploads" {
  bucket = aws_s3_bucket.raw_uploads.id

  rule {
    id     = "expire-raw"
    status = "Enabled"

    filter {}

    expiration {
      days = 7
    }
  }
}
