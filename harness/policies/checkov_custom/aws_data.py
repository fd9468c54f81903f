"""checkov custom checks for the data tier: ElastiCache and RDS that survive an AZ outage and keep
their credentials out of Terraform state. Metadata lives in controls.yaml."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def _value(conf: dict[str, Any], key: str, default: Any = None) -> Any:
    value = conf.get(key, default)
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def _true(conf: dict[str, Any], key: str) -> bool:
    return str(_value(conf, key, False)).lower() == "true"


def _int(conf: dict[str, Any], key: str, default: int) -> int:
    try:
        return int(_value(conf, key, default))
    except (TypeError, ValueError):
        return -1  # an unresolved expression cannot prove the property


class ElastiCacheMultiAz(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(name="ElastiCache is multi-AZ: two or more nodes, automatic failover on",
                         id="EU-AWS-030", categories=[CheckCategories.BACKUP_AND_RECOVERY],
                         supported_resources=["aws_elasticache_replication_group", "aws_elasticache_cluster"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if self.entity_type == "aws_elasticache_cluster":
            # a cluster that joins a replication group is judged there
            return CheckResult.UNKNOWN if conf.get("replication_group_id") else CheckResult.FAILED
        groups = _int(conf, "num_node_groups", 1)
        nodes = _int(conf, "num_cache_clusters", 0) or groups * (_int(conf, "replicas_per_node_group", 0) + 1)
        failover = _true(conf, "automatic_failover_enabled") and _true(conf, "multi_az_enabled")
        return CheckResult.PASSED if nodes >= 2 and failover else CheckResult.FAILED


class RdsResilient(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(name="RDS is Multi-AZ, keeps backups >= 7 days and a managed master password",
                         id="EU-AWS-031", categories=[CheckCategories.BACKUP_AND_RECOVERY],
                         supported_resources=["aws_db_instance", "aws_rds_cluster"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if conf.get("replicate_source_db"):
            return CheckResult.UNKNOWN  # read replicas inherit backups and credentials
        multi_az = self.entity_type == "aws_rds_cluster" or _true(conf, "multi_az")
        default_retention = 1 if self.entity_type == "aws_rds_cluster" else 0
        backups = _int(conf, "backup_retention_period", default_retention) >= 7
        managed = _true(conf, "manage_master_user_password") and not conf.get("password") \
            and not conf.get("master_password")
        return CheckResult.PASSED if multi_az and backups and managed else CheckResult.FAILED


elasticache_check = ElastiCacheMultiAz()
rds_check = RdsResilient()
