"""Reaching an AWS API (real or emulated) with boto3, and the leak check every target runs after
``terraform destroy``: what the Resource Groups Tagging API still finds with the run's tag."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import TargetError

RUN_TAG = "HarnessRun"  # every resource a run creates carries it (provider default_tags)


@dataclass(frozen=True, slots=True)
class AwsAccess:
    """How to reach an AWS API: endpoint (None = AWS itself), region and credentials."""

    endpoint_url: str | None
    region: str
    access_key_id: str | None = None
    secret_access_key: str | None = None
    external: bool = False  # shared with other runs: names get a per-run suffix

    def client(self, service: str, region: str | None = None) -> Any:
        import boto3  # type: ignore[import-untyped, unused-ignore]
        from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]

        config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2},
                        connect_timeout=5, read_timeout=30)
        return boto3.client(
            service, endpoint_url=self.endpoint_url, region_name=region or self.region, config=config,
            aws_access_key_id=self.access_key_id, aws_secret_access_key=self.secret_access_key,
        )

    def app_env(self) -> dict[str, str]:
        """What points the app (boto3) at this API."""
        env = {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region}
        if self.endpoint_url:
            env.update({"S3_ENDPOINT_URL": self.endpoint_url, "AWS_ENDPOINT_URL": self.endpoint_url})
        return {**env, **self._credentials()}

    def provider_env(self) -> dict[str, str]:
        """Credentials for the Terraform AWS provider (it reads the standard variables)."""
        return {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region, **self._credentials()}

    def _credentials(self) -> dict[str, str]:
        if not (self.access_key_id and self.secret_access_key):
            return {}  # the standard chain (profile, SSO, instance role) decides
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}


def tagged_resources(access: AwsAccess, value: str, *, key: str = RUN_TAG,
                     regions: Sequence[str] = ()) -> list[str]:
    """ARNs of everything tagged ``key=value`` (the leak check: after destroy this must be empty).

    An independent observation of ``terraform destroy``: Terraform's state says what it deleted,
    the tagging API says what is still there.
    """
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped, unused-ignore]

    found: set[str] = set()
    for region in regions or (access.region,):
        client = access.client("resourcegroupstaggingapi", region=region)
        try:
            wanted = [{"Key": key, "Values": [value]}]
            for page in client.get_paginator("get_resources").paginate(TagFilters=wanted):
                found |= {str(m["ResourceARN"]) for m in page.get("ResourceTagMappingList", [])}
        except (BotoCoreError, ClientError) as exc:
            where = access.endpoint_url or f"AWS {region}"
            raise TargetError(f"leak check ({key}={value}) at {where} failed: {exc}") from exc
    return sorted(found)


__all__ = ["RUN_TAG", "AwsAccess", "tagged_resources"]
