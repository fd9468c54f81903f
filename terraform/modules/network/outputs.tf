output "vpc_id" {
  description = "VPC id."
  value       = aws_vpc.this.id
}

output "cidr_block" {
  description = "VPC CIDR."
  value       = aws_vpc.this.cidr_block
}

output "private_subnet_ids" {
  description = "Subnets for EKS nodes and pods, one per AZ."
  value       = aws_subnet.private[*].id
}

output "data_subnet_ids" {
  description = "Subnets for RDS and ElastiCache, one per AZ, no internet route."
  value       = aws_subnet.data[*].id
}

output "public_subnet_ids" {
  description = "Subnets for NAT gateways and internet-facing load balancers."
  value       = aws_subnet.public[*].id
}
