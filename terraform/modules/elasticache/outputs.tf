output "primary_endpoint" {
  description = "Primary endpoint hostname."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "port" {
  description = "Redis port."
  value       = aws_elasticache_replication_group.this.port
}

output "auth_token" {
  description = "AUTH token, handed to the secrets module only."
  value       = random_password.auth_token.result
  sensitive   = true
}

output "security_group_id" {
  description = "Security group of the cache."
  value       = aws_security_group.this.id
}
