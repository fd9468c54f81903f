output "role_arns" {
  description = "Role ARN per CI role (set them as the GitHub environments' AWS_ROLE_ARN variables)."
  value       = { for name, role in aws_iam_role.this : name => role.arn }
}
