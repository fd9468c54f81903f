"""Provision the AWS emulator from what ``terraform/envs/local`` declares.

:func:`plan_from_terraform` is pure (parsed Terraform -> :class:`ProvisionPlan`); :func:`apply_plan`
creates exactly those buckets (versioning, lifecycle rules, encryption, public access block, tags)
and secrets (with values generated at run time) through boto3.
"""

from __future__ import annotations

import re
import secrets as token_source
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import TargetError
from harness.iac import attr, blocks, load_terraform, providers, resources

_REF = re.compile(r"^\$\{(?P<type>aws_[a-z0-9_]+)\.(?P<name>[A-Za-z0-9_-]+)\.(?:id|bucket|name|arn)\}$")


@dataclass(slots=True)
class BucketPlan:
    resource: str  # the Terraform resource name, e.g. raw_uploads
    name: str  # the bucket name
    logical: str  # what stages and the app call it, e.g. raw (from `output "raw_bucket"`)
    versioning: str | None = None  # "Enabled" | "Suspended"
    lifecycle_rules: list[dict[str, Any]] = field(default_factory=list)  # S3 API shape
    encryption: dict[str, Any] | None = None  # S3 API ServerSideEncryptionConfiguration
    public_access_block: dict[str, bool] | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class SecretPlan:
    resource: str  # e.g. token_signing_key -> the app setting TOKEN_SIGNING_KEY
    name: str
    description: str = ""

    @property
    def setting(self) -> str:
        return self.resource.upper()


@dataclass(slots=True)
class ProvisionPlan:
    buckets: list[BucketPlan] = field(default_factory=list)
    secrets: list[SecretPlan] = field(default_factory=list)

    def bucket_names(self) -> dict[str, str]:
        """Logical name -> bucket name, e.g. ``{"raw": "raw-uploads"}``."""
        return {b.logical: b.name for b in self.buckets}

    def with_suffix(self, suffix: str) -> ProvisionPlan:
        """The same plan with unique names, for an emulator shared by several runs."""
        buckets = [_replace(b, name=f"{b.name}-{suffix}"[:63]) for b in self.buckets]
        found = [SecretPlan(s.resource, f"{s.name}-{suffix}", s.description) for s in self.secrets]
        return ProvisionPlan(buckets, found)


def load_plan(terraform_dir: Path) -> ProvisionPlan:
    """Read every .tf file in ``terraform_dir`` into a plan."""
    return plan_from_terraform(load_terraform(terraform_dir))


def plan_from_terraform(tf: dict[str, list[dict[str, Any]]]) -> ProvisionPlan:
    """The buckets and secrets ``tf`` declares, with their settings in S3 API shape."""
    default_tags = _default_tags(tf)
    logical = _logical_names(tf)
    buckets: dict[str, BucketPlan] = {}
    for name, body in resources(tf, "aws_s3_bucket").items():
        bucket = attr(body, "bucket") or name.replace("_", "-")
        tags = {**default_tags, **_tags(attr(body, "tags"))}
        buckets[name] = BucketPlan(name, str(bucket), logical.get(name, name), tags=tags)
    _attach(tf, buckets)
    found = [
        SecretPlan(name, str(attr(body, "name") or name), str(attr(body, "description") or ""))
        for name, body in resources(tf, "aws_secretsmanager_secret").items()
    ]
    return ProvisionPlan(list(buckets.values()), found)


def _attach(tf: dict[str, list[dict[str, Any]]], buckets: dict[str, BucketPlan]) -> None:
    for name, body in resources(tf, "aws_s3_bucket_versioning").items():
        config = blocks(body, "versioning_configuration")
        _target(body, buckets, name).versioning = str(attr(config[0], "status")) if config else None
    for name, body in resources(tf, "aws_s3_bucket_lifecycle_configuration").items():
        _target(body, buckets, name).lifecycle_rules = [lifecycle_rule(r) for r in blocks(body, "rule")]
    for name, body in resources(tf, "aws_s3_bucket_server_side_encryption_configuration").items():
        _target(body, buckets, name).encryption = {"Rules": [_camel_block(r) for r in blocks(body, "rule")]}
    for name, body in resources(tf, "aws_s3_bucket_public_access_block").items():
        keys = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
        block = {_camel(k): bool(attr(body, k, False)) for k in keys}
        _target(body, buckets, name).public_access_block = block


def _target(body: dict[str, Any], buckets: dict[str, BucketPlan], resource: str) -> BucketPlan:
    """The bucket a sub-resource's ``bucket = aws_s3_bucket.X.id`` (or a literal name) points at."""
    ref = str(attr(body, "bucket", ""))
    match = _REF.match(ref)
    if match and match["type"] == "aws_s3_bucket" and match["name"] in buckets:
        return buckets[match["name"]]
    for bucket in buckets.values():
        if bucket.name == ref:
            return bucket
    raise TargetError(f"terraform: {resource}: bucket {ref!r} is not an aws_s3_bucket declared here")


def lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """One HCL ``rule {}`` block as a ``PutBucketLifecycleConfiguration`` rule."""
    converted: dict[str, Any] = {"ID": str(attr(rule, "id", "")), "Status": str(attr(rule, "status"))}
    filters = blocks(rule, "filter")
    converted["Filter"] = _filter(filters[0]) if filters else {"Prefix": str(attr(rule, "prefix", ""))}
    for key in ("expiration", "noncurrent_version_expiration", "abort_incomplete_multipart_upload"):
        found = blocks(rule, key)
        if found:
            converted[_camel(key)] = _camel_block(found[0])
    for key in ("transition", "noncurrent_version_transition"):
        found = blocks(rule, key)
        if found:
            converted[_camel(key) + "s"] = [_camel_block(b) for b in found]
    if not converted["ID"]:
        del converted["ID"]
    return converted


def _filter(body: dict[str, Any]) -> dict[str, Any]:
    clean = _camel_block(body)
    if "Tag" in clean:
        tag = clean["Tag"]
        clean["Tag"] = {"Key": tag.get("Key"), "Value": tag.get("Value")}
    if "And" in clean and isinstance(clean["And"].get("Tags"), dict):
        clean["And"]["Tags"] = [{"Key": k, "Value": v} for k, v in clean["And"]["Tags"].items()]
    return clean or {"Prefix": ""}


def _camel_block(body: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    for key, value in body.items():
        if key.startswith("__"):
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            inner = [_camel_block(v) for v in value]
            converted[_camel(key)] = inner[0] if len(inner) == 1 else inner
        else:
            converted[_camel(key)] = attr(body, key)
    return converted


def _camel(key: str) -> str:
    special = {"id": "ID", "kms_master_key_id": "KMSMasterKeyID", "sse_algorithm": "SSEAlgorithm"}
    return special.get(key) or "".join(part.capitalize() for part in key.split("_"))


def _logical_names(tf: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    """``output "raw_bucket" { value = aws_s3_bucket.raw_uploads.id }`` names raw_uploads "raw"."""
    names: dict[str, str] = {}
    for entry in tf.get("output", []):
        for output, body in entry.items():
            match = _REF.match(str(attr(body, "value", "")))
            if match and match["type"] == "aws_s3_bucket":
                names.setdefault(match["name"], output.removesuffix("_bucket"))
    return names


def _default_tags(tf: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    for provider in providers(tf, "aws"):
        for block in blocks(provider, "default_tags"):
            return _tags(attr(block, "tags"))
    return {}


def _tags(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _replace(bucket: BucketPlan, *, name: str) -> BucketPlan:
    return BucketPlan(bucket.resource, name, bucket.logical, bucket.versioning, bucket.lifecycle_rules,
                      bucket.encryption, bucket.public_access_block, dict(bucket.tags))


def generate_secret_values(plan: ProvisionPlan) -> dict[str, str]:
    """A fresh random value per secret, keyed by secret name (never written to the repo)."""
    return {s.name: token_source.token_urlsafe(32) for s in plan.secrets}
