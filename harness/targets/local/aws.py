"""The AWS side of the local target: our own moto server, or an external LocalStack when one is set.

``LOCALSTACK_ENDPOINT`` (e.g. ``http://localhost:4566``) or ``AWS_ENDPOINT_URL`` selects LocalStack,
reached through ``localstack-client``; otherwise a moto server is started on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from harness.errors import TargetError
from harness.targets.local.provision import ProvisionPlan

REGION = "us-east-1"


@dataclass(frozen=True, slots=True)
class AwsAccess:
    """How to reach the emulator: endpoint, region and (fake) credentials."""

    endpoint_url: str
    region: str
    access_key_id: str
    secret_access_key: str
    external: bool = False  # shared with other runs: names get a per-run suffix and are deleted

    def client(self, service: str) -> Any:
        import boto3  # type: ignore[import-untyped, unused-ignore]
        from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]

        config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2},
                        connect_timeout=5, read_timeout=30)
        return boto3.client(
            service, endpoint_url=self.endpoint_url, region_name=self.region, config=config,
            aws_access_key_id=self.access_key_id, aws_secret_access_key=self.secret_access_key,
        )

    def app_env(self) -> dict[str, str]:
        return {
            "S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
        }


def external_endpoint(environ: Mapping[str, str] | None = None) -> str | None:
    """The external LocalStack endpoint the environment names, if any."""
    env = os.environ if environ is None else environ
    return (env.get("LOCALSTACK_ENDPOINT") or env.get("AWS_ENDPOINT_URL") or "").strip() or None


def localstack_access(endpoint: str) -> AwsAccess:
    """Resolve the S3 endpoint through localstack-client (it honours AWS_ENDPOINT_URL, USE_SSL)."""
    from localstack_client import config as localstack_config

    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    if not parts.hostname:
        raise TargetError(f"LOCALSTACK_ENDPOINT/AWS_ENDPOINT_URL: cannot parse {endpoint!r}")
    host = f"{parts.hostname}:{parts.port or 4566}"
    resolved = localstack_config.get_service_endpoint("s3", localstack_host=host) or endpoint
    return AwsAccess(str(resolved), os.environ.get("AWS_REGION", REGION), "test", "test", external=True)


def apply_plan(plan: ProvisionPlan, access: AwsAccess, secret_values: Mapping[str, str]) -> None:
    """Create the plan's buckets and secrets; a failure names the resource and the emulator."""
    s3, secretsmanager = access.client("s3"), access.client("secretsmanager")
    for bucket in plan.buckets:
        _call(f"bucket {bucket.name}", access, lambda b=bucket: _create_bucket(s3, b.name, access.region))
        _configure_bucket(s3, bucket, access)
    for secret in plan.secrets:
        value = secret_values[secret.name]
        _call(f"secret {secret.name}", access,
              lambda s=secret, v=value: _create_secret(secretsmanager, s.name, s.description, v))


def delete_plan(plan: ProvisionPlan, access: AwsAccess) -> None:
    """Best effort: remove what :func:`apply_plan` created (for a shared, external emulator)."""
    s3, secretsmanager = access.client("s3"), access.client("secretsmanager")
    for bucket in plan.buckets:
        with contextlib.suppress(Exception):
            _empty_bucket(s3, bucket.name)
            s3.delete_bucket(Bucket=bucket.name)
    for secret in plan.secrets:
        with contextlib.suppress(Exception):
            secretsmanager.delete_secret(SecretId=secret.name, ForceDeleteWithoutRecovery=True)


def _configure_bucket(s3: Any, bucket: Any, access: AwsAccess) -> None:
    name = bucket.name
    if bucket.versioning:
        _call(f"versioning of {name}", access, lambda: s3.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": bucket.versioning}))
    if bucket.lifecycle_rules:
        _call(f"lifecycle rules of {name}", access, lambda: s3.put_bucket_lifecycle_configuration(
            Bucket=name, LifecycleConfiguration={"Rules": bucket.lifecycle_rules}))
    if bucket.encryption:
        _call(f"encryption of {name}", access, lambda: s3.put_bucket_encryption(
            Bucket=name, ServerSideEncryptionConfiguration=bucket.encryption))
    if bucket.public_access_block:
        _call(f"public access block of {name}", access, lambda: s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=bucket.public_access_block))
    if bucket.tags:
        tag_set = [{"Key": k, "Value": v} for k, v in bucket.tags.items()]
        _call(f"tags of {name}", access, lambda: s3.put_bucket_tagging(
            Bucket=name, Tagging={"TagSet": tag_set}))


def _create_bucket(s3: Any, name: str, region: str) -> None:
    kwargs: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(**kwargs)


def _create_secret(client: Any, name: str, description: str, value: str) -> None:
    try:
        client.create_secret(Name=name, Description=description, SecretString=value)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=name, SecretString=value)


def _empty_bucket(s3: Any, name: str) -> None:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        items = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        if items:
            objects = [{"Key": i["Key"], "VersionId": i["VersionId"]} for i in items]
            s3.delete_objects(Bucket=name, Delete={"Objects": objects, "Quiet": True})


def _call(what: str, access: AwsAccess, action: Any) -> None:
    from botocore.exceptions import (  # type: ignore[import-untyped, unused-ignore]
        BotoCoreError,
        ClientError,
    )

    try:
        action()
    except (BotoCoreError, ClientError) as exc:
        raise TargetError(f"provisioning {what} at {access.endpoint_url} failed: {exc}") from exc


__all__ = ["AwsAccess", "apply_plan", "delete_plan", "external_endpoint", "localstack_access"]
