"""Generated files are what they claim; posture checks judge sockets and pods (fake testinfra hosts)."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image

from harness.stages.functional.context import StepFailed
from harness.stages.functional.payloads import make_payload, pdf, png_raw
from harness.stages.functional.posture import exposed, kube_pods, listening_addresses, pod_problems


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
    def __init__(self, answers: dict[str, Ran], sockets: list[str] | None = None) -> None:
        self.answers = answers
        self.commands: list[str] = []
        self.socket = FakeSockets(sockets or [])

    def run(self, command: str, *args: str) -> Any:
        self.commands.append(command)
        return next((ran for prefix, ran in self.answers.items() if command.startswith(prefix)), Ran(0))


def test_only_loopback_ports_of_ours_pass() -> None:
    host = FakeHost(
        {},
        ["tcp://127.0.0.1:5432", "tcp://0.0.0.0:6379", "tcp6://[::1]:9000", "unix:///x", "tcp://0.0.0.0:22"],
    )
    addresses = listening_addresses(host)
    assert addresses[6379] == {"0.0.0.0"} and addresses[9000] == {"::1"}
    assert exposed({5432: 10, 9000: 11}, addresses) == []
    assert exposed({5432: 10, 6379: 12}, addresses) == ["port 6379 (pid 12) listens on 0.0.0.0"]


HARDENED = {
    "id -u": Ran(0, "10001\n"),
    "touch": Ran(1, ""),
    "grep CapEff": Ran(0, "CapEff:\t0000000000000000\n"),
}


def test_a_hardened_pod_passes() -> None:
    host = FakeHost(HARDENED)
    assert pod_problems(host, "api-1") == []
    assert kube_pods("ns", {"api-1": host}) == {"pods": ["api-1"]}


def test_root_writable_and_capable_pods_are_named() -> None:
    host = FakeHost(
        {"id -u": Ran(0, "0\n"), "touch": Ran(0), "grep CapEff": Ran(0, "CapEff:\t00000000a80425fb")}
    )
    problems = pod_problems(host, "worker-1")
    assert problems == [
        "worker-1: runs as uid 0 (expected non-root)",
        "worker-1: root filesystem is writable (expected readOnlyRootFilesystem)",
        "worker-1: effective capabilities 00000000a80425fb (expected none)",
    ]
    assert "rm -f /.harness-rofs-probe" in host.commands
    with pytest.raises(StepFailed, match="pod posture: worker-1: runs as uid 0"):
        kube_pods("ns", {"worker-1": host})
    with pytest.raises(StepFailed, match="no running pods"):
        kube_pods("ns", {})
