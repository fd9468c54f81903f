"""`harness doctor`: tells what each stage and target really uses, which targets are not built, and
exits non-zero when the main job cannot run here; Docker counts only when its engine answers."""

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
    found = _docker()
    assert (found.found, found.detail) == (False, "not found")
    assert [n.user for n in found.used_by] == ["target:kind", "target:aws"]  # not the main job


def test_doctor_cli_reports_client_only_as_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_client(tmp_path / "bin", "docker", CLIENT_ONLY)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    main(["doctor", "--json"])
    [docker] = [c for c in json.loads(capsys.readouterr().out)["tools"] if c["name"] == "Docker"]
    assert docker["found"] is False
    assert docker["detail"].startswith("client only, no engine")
    monkeypatch.setenv("CI", "true")
    main(["doctor"])
    [line] = [line for line in capsys.readouterr().out.splitlines() if " Docker " in line]
    assert line.startswith("--  Docker ")


def _probe(found: bool) -> doctor.Probe:
    return lambda: (found, "-")


def _missing(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    tool = doctor.TOOLS[name]
    monkeypatch.setitem(doctor.TOOLS, name, doctor.Tool(name, lambda: (False, "not found"), tool.install))


def test_doctor_exits_non_zero_when_the_main_job_cannot_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The old behaviour: doctor always exited 0."""
    monkeypatch.setenv("CI", "true")
    _missing(monkeypatch, "Redis")
    assert main(["doctor"]) == 1
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("harness doctor: main job (./dev verify) cannot run on this machine: "
                           "missing Redis")
    assert "apt-get install redis-server" in last


def test_an_optional_tool_does_not_block_the_main_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every required tool here, every optional one (ZAP, Chromium, ...) missing: the job runs."""
    for name, tool in doctor.TOOLS.items():
        required = any(n.required for n in doctor.NEEDS if n.tool == name)
        monkeypatch.setitem(doctor.TOOLS, name, doctor.Tool(name, _probe(required), tool.install))
    assert doctor.main_job_line(doctor.capabilities())[0]
    _missing(monkeypatch, "checkov")
    assert not doctor.main_job_line(doctor.capabilities())[0]


def test_doctor_says_which_targets_are_not_built_and_claims_nothing_for_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["doctor", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["not_built"] == {}  # every registered target is built
    users = {u["user"] for tool in data["tools"] for u in tool["used_by"]}
    assert {"target:kind", "target:aws"} <= users
    text = json.dumps(data).lower()
    assert "promql" not in text  # nothing the harness does not use
    kubectl = [tool["name"] for tool in data["tools"] if "kubectl" in json.dumps(tool).lower()]
    assert kubectl == ["kustomize", "kubectl"]  # the renderer, and the kind target's own kubectl
    kind = {u["user"] for tool in data["tools"] if tool["name"] == "kubectl" for u in tool["used_by"]}
    assert kind == {"target:kind", "target:aws"}


def test_every_need_names_a_known_tool_and_a_real_stage_or_target() -> None:
    from harness.stages import STAGES
    from harness.targets import TARGETS

    users = {f"stage:{s}" for s in STAGES} | {f"target:{t}" for t in TARGETS}
    for need in doctor.NEEDS:
        assert need.tool in doctor.TOOLS and need.user in users, need


def test_another_engine_is_added_as_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "TOOLS", dict(doctor.TOOLS))
    monkeypatch.setattr(doctor, "NEEDS", list(doctor.NEEDS))
    doctor.register_tool("promtool", lambda: (False, "not found"), "apt-get install prometheus")
    doctor.register_need("target:local", "promtool", required=True, why="checks the alert rules")
    runnable, line = doctor.main_job_line(doctor.capabilities())
    assert not runnable and "promtool for target:local (apt-get install prometheus)" in line
