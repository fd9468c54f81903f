resource "aws_eks_pod_identity_association" "karpenter" {
  cluster_name    = "shop"
  namespace       = "kube-system"
  service_account = "karpenter"
  role_arn        = "arn:aws:iam::111122223333:role/karpenter"
}

resource "helm_release" "karpenter" {
  name       = "karpenter"
  namespace  = "kube-system"
  repository = "oci://public.ecr.aws/karpenter"
  chart      = "karpenter"

  values = [yamlencode({
    serviceAccount = { name = "karpenter" }
    replicas       = 2
  })]
}
