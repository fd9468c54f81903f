output "role_arns" {
  description = "IAM role per workload."
  value       = { for name, role in aws_iam_role.this : name => role.arn }
}
