from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import TargetError
from harness.services import MotoService
from harness.targets.local.aws import AwsAccess, apply_plan, delete_plan, external_endpoint, localstack_access
from harness.targets.local.provision import ProvisionPlan, generate_secret_values, load_plan
from tests.harness.targets.fixtures_tf import DANGLING_REFERENCE, SMALL_ENV

ROOT = Path(__file__).resolve().parents[3]


def _plan(tmp_path: Path, text: str) -> ProvisionPlan:
    (tmp_path / "main.tf").write_text(text)
    return load_plan(tmp_path)


def test_plan_from_a_fixture(tmp_path: Path) -> None:
    plan = _plan(tmp_path, SMALL_ENV)
    inbox, outbox = plan.buckets
    assert plan.bucket_names() == {"raw": "fx-inbox", "outbox": "fx-outbox"}
    assert inbox.versioning == "Enabled" and outbox.versioning is None
    assert inbox.tags == {"Owner": "platform-team", "Purpose": "tests"}
    assert inbox.lifecycle_rules == [
        {
            "ID": "expire-inbox", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
            "Expiration": {"Days": 3}, "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
        },
        {
            "ID": "archive", "Status": "Disabled", "Filter": {"Prefix": ""},
            "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}],
        },
    ]
    by_default = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    assert outbox.encryption == {"Rules": [by_default]}
    assert outbox.public_access_block == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True,
        "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
    }
    assert [(s.name, s.setting, s.description) for s in plan.secrets] == [
        ("fx/api-key", "API_KEY", "A key the app reads.")
    ]


def test_dangling_reference_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match=r"terraform: b: bucket '\$\{aws_s3_bucket\.missing\.id\}' is not"):
        _plan(tmp_path, DANGLING_REFERENCE)


def test_the_repo_local_env_declares_what_the_app_needs() -> None:
    plan = load_plan(ROOT / "terraform" / "envs" / "local")
    assert plan.bucket_names() == {"raw": "raw-uploads", "processed": "processed-uploads"}
    assert all(b.versioning == "Enabled" and b.lifecycle_rules for b in plan.buckets)
    assert [s.setting for s in plan.secrets] == ["TOKEN_SIGNING_KEY"]


def test_suffix_makes_names_unique(tmp_path: Path) -> None:
    plan = _plan(tmp_path, SMALL_ENV).with_suffix("w1")
    assert plan.bucket_names() == {"raw": "fx-inbox-w1", "outbox": "fx-outbox-w1"}
    assert plan.secrets[0].name == "fx/api-key-w1"
    assert plan.buckets[0].lifecycle_rules[0]["ID"] == "expire-inbox"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({}, None), ({"LOCALSTACK_ENDPOINT": "http://ls:4566"}, "http://ls:4566"),
     ({"AWS_ENDPOINT_URL": " http://h:1 "}, "http://h:1")],
)
def test_external_endpoint(environ: dict[str, str], expected: str | None) -> None:
    assert external_endpoint(environ) == expected


def test_localstack_access_goes_through_localstack_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    access = localstack_access("http://localstack.internal:4577")
    assert (access.endpoint_url, access.external) == ("http://localstack.internal:4577", True)


@pytest.mark.services
def test_apply_creates_buckets_lifecycle_and_secrets(tmp_path: Path, moto_service: MotoService) -> None:
    plan = _plan(tmp_path, SMALL_ENV).with_suffix(tmp_path.name[-8:].lower().replace("_", "-"))
    access = AwsAccess(moto_service.endpoint_url, moto_service.region, moto_service.access_key_id,
                       moto_service.secret_access_key)
    values = generate_secret_values(plan)
    apply_plan(plan, access, values)
    apply_plan(plan, access, values)  # idempotent: a restarted emulator is provisioned again
    s3, secrets = access.client("s3"), access.client("secretsmanager")
    inbox, outbox = (b.name for b in plan.buckets)
    rules: list[dict[str, Any]] = s3.get_bucket_lifecycle_configuration(Bucket=inbox)["Rules"]
    expirations = {r["ID"]: r.get("Expiration", {}).get("Days") for r in rules}
    assert expirations == {"expire-inbox": 3, "archive": None}
    assert s3.get_bucket_versioning(Bucket=inbox)["Status"] == "Enabled"
    assert s3.get_public_access_block(Bucket=outbox)["PublicAccessBlockConfiguration"]["BlockPublicAcls"]
    assert {t["Key"] for t in s3.get_bucket_tagging(Bucket=inbox)["TagSet"]} == {"Owner", "Purpose"}
    secret = plan.secrets[0].name
    assert secrets.get_secret_value(SecretId=secret)["SecretString"] == values[secret]
    delete_plan(plan, access)
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert inbox not in names and outbox not in names


@pytest.mark.services
def test_unreachable_emulator_names_the_resource(tmp_path: Path) -> None:
    from harness.services import free_port

    plan = _plan(tmp_path, SMALL_ENV)
    access = AwsAccess(f"http://127.0.0.1:{free_port()}", "us-east-1", "k", "s")
    with pytest.raises(TargetError, match=r"provisioning bucket fx-inbox at http://127\.0\.0\.1:"):
        apply_plan(plan, access, generate_secret_values(plan))
