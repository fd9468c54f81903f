resource "aws_elasticache_replication_group" "queue" {
  replication_group_id       = "queue"
  description                = "queue"
  engine                     = "redis"
  node_type                  = "cache.t4g.small"
  num_cache_clusters         = 3
  automatic_failover_enabled = false
  multi_az_enabled           = true
}
