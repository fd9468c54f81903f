"""Preflight: the target and the run's inputs are checked before any stage runs (issue 12.1)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from harness.errors import TargetError
from harness.services.process import free_port
from harness.targets.local.preflight import preflight as local_preflight
from harness.targets.settings import TargetSettings
from tests.harness.core.conftest import StageRegistrar
from tests.harness.core.test_cli import run_cli

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "stage-ran"
    monkeypatch.setenv("HARNESS_TEST_MARKER", str(path))
    return path


def _one_line_exit_2(code: int, out: str, err: str, needle: str) -> None:
    assert code == 2, (out, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert needle in err, err


def test_a_target_not_built_stops_the_run_before_any_stage(
    project: Path, capsys: pytest.CaptureFixture[str], use_stages: StageRegistrar, marker: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The old behaviour: NOTHING VERIFIED with exit 0 after checkov ran."""
    import harness.targets

    monkeypatch.setitem(harness.targets.TARGETS, "someday", None)
    use_stages(policy="MarkingStage", functional="EnvStage")
    _one_line_exit_2(*run_cli(capsys, "verify", "--target", "someday"), needle="is not built yet")
    assert not marker.exists()  # the policy stage never started
    assert not (project / "reports").exists()  # and nothing claims a run happened


@pytest.mark.parametrize(("args", "needle"), [
    (["--target", "aws://staging"], "creates real, billed AWS resources: confirm with --yes-real-cloud"),
    (["--target", "aws://staging", "--yes-real-cloud"], "target aws:staging cannot run here: aws not found"),
])
def test_aws_stops_before_any_stage_without_confirmation_or_tools(
    project: Path, capsys: pytest.CaptureFixture[str], use_stages: StageRegistrar, marker: Path,
    monkeypatch: pytest.MonkeyPatch, args: list[str], needle: str,
) -> None:
    for env in ("local", "staging"):
        (project / "terraform" / "envs" / env).mkdir(parents=True)
        (project / "terraform" / "envs" / env / "main.tf").write_text(
            'variable "run_tags" {\n  type = map(string)\n}\n', encoding="utf-8")
    monkeypatch.setenv("PATH", str(project / "no-tools"))
    monkeypatch.delenv("HARNESS_AWS_CONFIRM", raising=False)
    use_stages(policy="MarkingStage", functional="EnvStage")
    _one_line_exit_2(*run_cli(capsys, "verify", *args), needle=needle)
    assert not marker.exists()


@pytest.mark.parametrize("spec", ["kind", "kind://nightly"])
def test_kind_without_docker_engine_or_kind_stops_the_run_before_any_stage(
    project: Path, capsys: pytest.CaptureFixture[str], use_stages: StageRegistrar, marker: Path, spec: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """This machine: a docker CLI but no engine, no kind. Exit 2, one line naming each, no stage run.
    (PATH is narrowed to an empty folder so the test does not depend on what this host has.)"""
    monkeypatch.setenv("PATH", str(project / "no-tools"))
    use_stages(policy="MarkingStage", functional="EnvStage")
    code, out, err = run_cli(capsys, "verify", "--target", spec)
    _one_line_exit_2(code, out, err, needle="target kind cannot run here: kind not found (go install")
    for needle in ("kubectl not found", "helm not found", "docker not found"):
        assert needle in err, err
    assert not marker.exists()
    assert not (project / "reports").exists()


def test_kind_preflight_on_this_machine_names_what_is_missing() -> None:
    """Against this host's real PATH and docker CLI: no engine answers here, so preflight refuses."""
    from harness.targets.kind.tools import missing

    problems = missing()
    assert problems, "a Docker engine and kind are here: this test documents a machine without them"
    assert any("kind not found" in p or "no Docker engine" in p or "docker not found" in p for p in problems)


def test_kind_preflight_is_silent_when_everything_answers() -> None:
    from harness.targets.kind.tools import missing

    assert missing(which=lambda tool: f"/usr/bin/{tool}", engine=lambda: None) == []
    assert missing(which=lambda tool: f"/usr/bin/{tool}", engine=lambda: "no Docker engine answers (x)") == [
        "no Docker engine answers (x)"]


def test_a_target_is_not_checked_when_no_selected_stage_needs_it(
    project: Path, capsys: pytest.CaptureFixture[str], use_stages: StageRegistrar, marker: Path
) -> None:
    use_stages(policy="MarkingStage")
    code, out, _ = run_cli(capsys, "verify", "--stages", "policy", "--target", "kind")
    assert code == 0 and marker.exists(), out
    code, _, err = run_cli(capsys, "verify", "--stages", "policy", "--target", "nosuch")
    _one_line_exit_2(code, "", err, "unknown target 'nosuch'")


@pytest.mark.parametrize(("content", "needle"), [
    (None, "environment file not found"),
    ("{not json", "not valid JSON"),
    ('{"users": []}', "api_url: required"),
])
def test_existing_target_with_a_bad_file_stops_before_any_stage(
    project: Path, capsys: pytest.CaptureFixture[str], use_stages: StageRegistrar, marker: Path,
    content: str | None, needle: str,
) -> None:
    use_stages(policy="MarkingStage", functional="EnvStage")
    env = project / "env.json"
    if content is not None:
        env.write_text(content, encoding="utf-8")
    _one_line_exit_2(*run_cli(capsys, "verify", "--target", f"existing:{env}"), needle=needle)
    assert not marker.exists()


def _env_file(path: Path, api_url: str) -> Path:
    path.write_text(json.dumps({"api_url": api_url, "users": [{"name": "a", "token": "t-123456"}]}),
                    encoding="utf-8")
    return path


def test_existing_target_whose_api_does_not_answer_stops_before_any_stage(
    project: Path, capsys: pytest.CaptureFixture[str], use_stages: StageRegistrar, marker: Path
) -> None:
    use_stages(policy="MarkingStage", functional="EnvStage")
    env = _env_file(project / "env.json", f"http://127.0.0.1:{free_port()}/")  # nothing listens there
    _one_line_exit_2(*run_cli(capsys, "verify", "--target", f"existing:{env}"), needle="does not answer")
    assert not marker.exists()


class _Quiet(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(404)  # any HTTP answer counts: the API is up
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def http_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_existing_target_that_answers_runs(
    project: Path, capsys: pytest.CaptureFixture[str], use_stages: StageRegistrar, marker: Path,
    http_server: str,
) -> None:
    use_stages(policy="MarkingStage", functional="EnvStage")
    env = _env_file(project / "env.json", http_server)
    code, out, err = run_cli(capsys, "verify", "--stages", "policy,functional", "--target", f"existing:{env}")
    assert code == 0 and marker.exists(), (out, err)


@pytest.mark.parametrize("stages", ["", " , "])
def test_an_empty_stage_list_is_a_usage_error(
    project: Path, capsys: pytest.CaptureFixture[str], stages: str
) -> None:
    """The old behaviour: ``--stages ""`` ran nothing and exited 0."""
    _one_line_exit_2(*run_cli(capsys, "verify", "--stages", stages), needle="--stages: must not be empty")


def test_an_empty_stage_list_in_the_config_file_is_a_usage_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "harness.toml").write_text("stages = []\n", encoding="utf-8")
    _one_line_exit_2(*run_cli(capsys, "verify"), needle="stages: must not be empty")


def test_local_target_names_everything_it_lacks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("harness.targets.local.preflight.find_postgres", lambda: None)
    monkeypatch.setattr("harness.targets.local.preflight.find_redis", lambda: None)
    monkeypatch.delenv("LOCALSTACK_ENDPOINT", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    settings = TargetSettings.for_root(ROOT)
    with pytest.raises(TargetError) as caught:
        local_preflight(settings)
    message = str(caught.value)
    assert "\n" not in message
    assert "PostgreSQL not found" in message and "redis-server not found" in message


def test_a_missing_prometheus_is_one_line_and_exit_2_before_any_stage(
    project: Path, capsys: pytest.CaptureFixture[str], use_stages: StageRegistrar, marker: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No quiet fallback: without the binary the canary analysis and the alert checks cannot run."""
    monkeypatch.setattr("harness.targets.local.preflight.find_prometheus", lambda: None)
    use_stages(policy="MarkingStage", functional="EnvStage")
    _one_line_exit_2(*run_cli(capsys, "verify", "--target", "local"), needle="apt-get install prometheus")
    assert not marker.exists()


def test_local_target_passes_preflight_on_this_machine() -> None:
    local_preflight(TargetSettings.for_root(ROOT))


def test_local_target_with_a_dead_external_emulator_fails_preflight(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALSTACK_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TargetError, match=r"LOCALSTACK_ENDPOINT/AWS_ENDPOINT_URL: .* does not answer"):
        local_preflight(TargetSettings.for_root(ROOT))


def test_invalid_waivers_stop_the_run_before_any_stage(
    project: Path, capsys: pytest.CaptureFixture[str], use_stages: StageRegistrar, marker: Path
) -> None:
    use_stages(policy="MarkingStage")
    (project / "policies").mkdir()
    (project / "policies" / "waivers.yaml").write_text(
        "version: 1\nwaivers:\n  - id: CKV_AWS_18\n    resource: '*'\n"
        "    reason: a reason long enough to read\n    owner: team\n    expires: 2099-01-01\n",
        encoding="utf-8")
    _one_line_exit_2(*run_cli(capsys, "verify", "--stages", "policy"),
                     needle="waivers.yaml: waiver #1 (CKV_AWS_18): 'approved_by' is a required property")
    assert not marker.exists()
