"""LocalStack in host mode from its own venv: loopback only, ready, outage and crash semantics, gone
after cleanup. Skipped (with the reason) where ``./dev setup --localstack`` has not run."""

from __future__ import annotations

import time
from pathlib import Path

import boto3
import psutil
import pytest

from harness.errors import MissingToolError
from harness.services import port_is_open
from harness.services.localstack import LocalStackService, localstack_python

ROOT = Path(__file__).resolve().parents[3]


def _available() -> str | None:
    try:
        localstack_python(root=ROOT)
    except MissingToolError as exc:
        return str(exc)
    return None


MISSING = _available()
needs_localstack = pytest.mark.skipif(MISSING is not None, reason=f"{MISSING} (./dev setup --localstack)")


def test_no_interpreter_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MissingToolError, match=r"LocalStack: no interpreter with localstack-core") as info:
        localstack_python(str(tmp_path / "nope"), root=tmp_path)
    assert "./dev setup --localstack" in str(info.value)


@needs_localstack
@pytest.mark.services
def test_localstack_serves_on_loopback_keeps_state_through_an_outage_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    service = LocalStackService(tmp_path / "ls", root=ROOT)
    started = time.monotonic()
    service.start(timeout=120)
    try:
        print(f"LocalStack ready in {time.monotonic() - started:.1f}s")
        pid = service.process.pid
        assert pid is not None
        family = {pid} | {c.pid for c in psutil.Process(pid).children(recursive=True)}
        listening = {str(c.laddr[0]) for c in psutil.net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN and c.pid in family and c.laddr}
        assert listening and listening <= {"127.0.0.1", "::1"}  # never 0.0.0.0
        s3 = boto3.client("s3", endpoint_url=service.endpoint_url, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
        s3.create_bucket(Bucket="put-check")
        s3.put_object(Bucket="put-check", Key="k", Body=b"x" * 1000)  # Expect: 100-continue works
        s3 = boto3.client("s3", endpoint_url=service.endpoint_url, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
        s3.create_bucket(Bucket="kept")
        service.stop()
        assert not port_is_open(service.port)
        service.start()
        assert "kept" in {b["Name"] for b in s3.list_buckets()["Buckets"]}
        service.kill()
        service.start(timeout=120)
        assert "kept" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}  # a crash loses state
    finally:
        service.cleanup()
    assert not port_is_open(service.port) and not port_is_open(service.backend_port)
    assert service.process.pid is None
