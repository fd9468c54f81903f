"""`harness doctor`: Docker counts only when its engine answers, not when just the client is installed."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from harness import doctor
from harness.cli import main


def _fake_client(bin_dir: Path, name: str, body: str) -> Path:
    """An executable ``name`` on a PATH of its own; ``info`` behaves as ``body`` says."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / name
    script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def _docker() -> doctor.Capability:
    [found] = [c for c in doctor.capabilities() if c.name == "Docker"]
    return found


CLIENT_ONLY = """echo 'Client: Docker Engine - Community'
echo ' Version:    27.3.1'
echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2
exit 1"""


def test_client_without_engine_is_not_available(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_client(tmp_path / "bin", "docker", CLIENT_ONLY)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    found = _docker()
    assert not found.found
    assert found.detail.startswith("client only, no engine (")
    assert "Cannot connect to the Docker daemon" in found.detail


def test_running_engine_is_available(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _fake_client(tmp_path / "bin", "docker", "echo 'Server Version: 27.3.1'; exit 0")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    found = _docker()
    assert found.found
    assert found.detail == f"{client} (engine running)"


def test_podman_counts_when_docker_has_no_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_client(tmp_path / "bin", "docker", CLIENT_ONLY)
    podman = _fake_client(tmp_path / "bin", "podman", "exit 0")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert _docker().detail == f"{podman} (engine running)"


def test_hanging_engine_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_client(tmp_path / "bin", "docker", "exec /bin/sleep 30")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setattr(doctor, "ENGINE_TIMEOUT_S", 0.5)
    found = _docker()
    assert not found.found
    assert "`info` timed out after 0.5s" in found.detail


def test_no_client_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert _docker() == doctor.Capability(
        "Docker", False, "not found", "kind target; docker-compose"
    )


def test_doctor_cli_reports_client_only_as_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_client(tmp_path / "bin", "docker", CLIENT_ONLY)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert main(["doctor", "--json"]) == 0
    [docker] = [c for c in json.loads(capsys.readouterr().out) if c["name"] == "Docker"]
    assert docker["found"] is False
    assert docker["detail"].startswith("client only, no engine")
    monkeypatch.setenv("CI", "true")
    assert main(["doctor"]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if " Docker " in line]
    assert line.startswith("--  Docker ")
