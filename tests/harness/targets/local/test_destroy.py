"""``down()`` against a versioned bucket holding a delete marker, with the real ``terraform destroy``
and a real moto server (moto 5.2.5: ``force_destroy`` of such a bucket answers 500 and the AWS
provider retries for more than 12 minutes, see :func:`harness.targets.local.aws.purge_versions`).

The emulator is an external moto (``LOCALSTACK_ENDPOINT``) so that what is left in it after
``down()`` can be observed: its bucket list and the tagging API, never the harness's own word.
It is this module's own: moto's failed deletes leave the bucket in a state nothing can empty.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from harness.errors import TargetError
from harness.services import MotoService
from harness.targets import TargetSettings
from harness.targets.local import LocalTarget
from harness.targets.local import aws as local_aws
from tests.harness.targets.conftest import ROOT, SMALL_ENV

pytestmark = [pytest.mark.services, pytest.mark.slow]

VERSIONED = """
resource "aws_s3_bucket_versioning" "raw" {
  bucket = aws_s3_bucket.raw.id
  versioning_configuration {
    status = "Enabled"
  }
}
"""


@pytest.fixture
def own_moto(tmp_path: Path) -> Iterator[MotoService]:
    service = MotoService(tmp_path / "moto")
    try:
        yield service.start()
    finally:
        service.cleanup()


@pytest.fixture
def versioned_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_moto: MotoService) -> LocalTarget:
    """A local target (no app) whose raw bucket is versioned, on a moto server of the test's own."""
    monkeypatch.setenv("LOCALSTACK_ENDPOINT", own_moto.endpoint_url)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    env_dir = tmp_path / "terraform" / "envs" / "versioned"
    shutil.copytree(SMALL_ENV, env_dir)
    (env_dir / "versioning.tf").write_text(VERSIONED)
    settings = TargetSettings.for_root(ROOT, run_dir=tmp_path / "run", terraform_dir=env_dir)
    return LocalTarget(settings, with_app=False)


def _s3(endpoint: str | None) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def _leave_a_delete_marker(target: LocalTarget) -> tuple[Any, str]:
    """What the app does when it removes a raw upload it wrote: put, then delete (a marker)."""
    env = target.up()
    s3, raw = _s3(env.aws.endpoint_url), env.aws.buckets["raw"]
    s3.put_object(Bucket=raw, Key="uploads/1", Body=b"raw bytes")
    s3.delete_object(Bucket=raw, Key="uploads/1")
    assert s3.list_object_versions(Bucket=raw).get("DeleteMarkers")
    return s3, raw


def test_down_destroys_a_versioned_bucket_holding_a_delete_marker(versioned_target: LocalTarget) -> None:
    s3, raw = _leave_a_delete_marker(versioned_target)
    versioned_target.down()  # raises on a failed destroy or a leak
    assert raw not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert versioned_target.leaks == []


def test_a_stuck_destroy_is_stopped_and_names_what_is_left(
    versioned_target: LocalTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the purge, moto's bug hangs the real destroy: the bound stops it, the error names
    Terraform's last words and the leak check lists the bucket the emulator still holds."""
    monkeypatch.setattr(local_aws, "purge_versions", lambda access, buckets: [])
    monkeypatch.setattr(local_aws, "DESTROY_TIMEOUT_S", 20.0)
    s3, raw = _leave_a_delete_marker(versioned_target)
    started = time.monotonic()
    with pytest.raises(TargetError) as caught:
        versioned_target.down()
    message = str(caught.value)
    assert "terraform destroy stopped: terraform destroy: no answer after 20s" in message
    assert f"leak check: 1 resource(s) still tagged HarnessRun={versioned_target.run_id}" in message
    assert f"arn:aws:s3:::{raw}" in message
    assert raw in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert time.monotonic() - started < 20 + 30  # the bound, the SIGINT grace, the leak check
