resource "aws_eks_pod_identity_association" "api" {
  cluster_name    = "shop"
  namespace       = "app"
  service_account = "api"
  role_arn        = "arn:aws:iam::111122223333:role/shop-api"
}
