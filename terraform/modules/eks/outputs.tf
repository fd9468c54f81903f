output "cluster_name" {
  description = "EKS cluster name."
  value       = aws_eks_cluster.this.name
}

output "cluster_arn" {
  description = "EKS cluster ARN."
  value       = aws_eks_cluster.this.arn
}

output "cluster_endpoint" {
  description = "API server endpoint (private unless allow-listed)."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_certificate_authority" {
  description = "Base64 CA bundle of the API server."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "cluster_security_group_id" {
  description = "Security group EKS attaches to every node and pod ENI."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}

output "karpenter_node_role_name" {
  description = "Role the EC2NodeClass in manifests/platform/karpenter references."
  value       = aws_iam_role.karpenter_node.name
}
