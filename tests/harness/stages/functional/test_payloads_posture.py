"""Generated files are what they claim; posture checks judge sockets and pods (fake testinfra hosts)."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass

import pytest
from PIL import Image

from harness.stages.functional.context import StepFailed, StepSkipped
from harness.stages.functional.payloads import make_payload, pdf, png_raw
from harness.stages.functional.posture import exposed, listening_addresses, pod_posture, security_problems
from harness.targets.base import ContainerSecurity, ReplicaStatus


@pytest.mark.parametrize("kind", ["png", "jpeg", "webp", "gif"])
def test_images_decode(kind: str) -> None:
    payload = make_payload({"type": kind, "width": 20, "height": 10})
    with Image.open(io.BytesIO(payload.read())) as img:
        assert img.size == (20, 10)
    assert hashlib.sha256(payload.read()).hexdigest() == payload.sha256


def test_pdf_and_png_without_pillow_are_well_formed() -> None:
    document = pdf()
    xref = int(document.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert document.startswith(b"%PDF-1.4") and document[xref:].startswith(b"xref")
    with Image.open(io.BytesIO(png_raw(3, 2))) as img:
        assert img.size == (3, 2)


@pytest.mark.parametrize("kind", ["text", "csv", "json"])
def test_large_text_streams_exactly(kind: str) -> None:
    payload = make_payload({"type": kind, "size": 3 * 1024 * 1024 + 17})
    chunks = list(payload.chunks())
    data = b"".join(chunks)
    assert len(chunks) > 5 and len(data) == payload.size
    assert hashlib.sha256(data).hexdigest() == payload.sha256
    if kind == "json":
        json.loads(data)
    data.decode("utf-8")


def test_padding_and_exact_content() -> None:
    assert make_payload({"type": "png", "size": 4000}).size == 4000
    assert make_payload({"type": "empty"}).size == 0
    exact = make_payload({"type": "bytes", "base64": "UEsDBA==", "prefix_base64": "AA=="})
    assert exact.read() == b"\x00PK\x03\x04"


@dataclass
class Ran:
    rc: int
    stdout: str = ""


class FakeSockets:
    def __init__(self, specs: list[str]) -> None:
        self.specs = specs

    def get_listening_sockets(self) -> list[str]:
        return self.specs


class FakeHost:
    def __init__(self, sockets: list[str]) -> None:
        self.socket = FakeSockets(sockets)


def test_only_loopback_ports_of_ours_pass() -> None:
    host = FakeHost(
        ["tcp://127.0.0.1:5432", "tcp://0.0.0.0:6379", "tcp6://[::1]:9000", "unix:///x", "tcp://0.0.0.0:22"],
    )
    addresses = listening_addresses(host)
    assert addresses[6379] == {"0.0.0.0"} and addresses[9000] == {"::1"}
    assert exposed({5432: 10, 9000: 11}, addresses) == []
    assert exposed({5432: 10, 6379: 12}, addresses) == ["port 6379 (pid 12) listens on 0.0.0.0"]


def _replica(name: str, security: ContainerSecurity | None) -> ReplicaStatus:
    return ReplicaStatus("api", name, "v1", security=security)


def test_a_hardened_pod_passes() -> None:
    hardened = ContainerSecurity(uid=10001, read_only_root=True, effective_capabilities="0000000000000000")
    assert security_problems("api-1", hardened) == []
    assert pod_posture([_replica("api-1", hardened)], "kind") == {"pods": ["api-1"]}


def test_root_writable_and_capable_pods_are_named() -> None:
    loose = ContainerSecurity(uid=0, read_only_root=False, effective_capabilities="00000000a80425fb")
    assert security_problems("worker-1", loose) == [
        "worker-1: runs as uid 0 (expected non-root)",
        "worker-1: root filesystem is writable (expected readOnlyRootFilesystem)",
        "worker-1: effective capabilities 00000000a80425fb (expected none)",
    ]
    with pytest.raises(StepFailed, match="pod posture: worker-1: runs as uid 0"):
        pod_posture([_replica("worker-1", loose)], "kind")
    with pytest.raises(StepFailed, match="no running replicas"):
        pod_posture([], "kind")


def test_pods_without_containers_are_skipped_naming_the_platform() -> None:
    with pytest.raises(StepSkipped, match="local model runs no container"):
        pod_posture([_replica("api-0", None)], "local model")
