"""The load stage end to end against a tiny app on 127.0.0.1, with a real (short) Locust run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.config import HarnessConfig
from harness.results import ResultKind, Status
from harness.stages.base import StageContext
from harness.stages.load import LoadStage
from harness.stages.load.runner import locust_command, merge_summaries, run_locust
from harness.stages.load.shapes import build_stages
from harness.targets.base import AwsEndpoint, Environment, TestUser
from tests.harness.stages.load.fake_app import FakeApp, describe

pytestmark = pytest.mark.slow


@pytest.fixture
def app() -> Iterator[FakeApp]:
    app = FakeApp(error_every=4).start()
    yield app
    app.stop()


def _env(app: FakeApp) -> Environment:
    return Environment(
        target="fake",
        api_url=app.url,
        web_url=app.url,
        aws=AwsEndpoint(None, "us-east-1", "x", "y"),
        users=[TestUser("alice", "t-1")],
    )


def test_locust_run_records_flows_summary_and_cpu(app: FakeApp, tmp_path: Path) -> None:
    run = run_locust(
        "smoke",
        host=app.url,
        tokens=["t-1"],
        out_dir=tmp_path,
        stages=build_stages({"type": "ramp", "users": 3, "ramp_s": 1, "hold_s": 3}),
        extra={"wait_s": [0.05, 0.1]},
        on_tick=lambda: {"replicas": {"api": 1}},
    )
    assert run.returncode == 0 and run.wall_s < 60
    assert {"upload", "sse-first-event", "upload-to-completed", "list", "http"} <= set(run.flows)
    upload = run.flows["upload"]
    # every 4th upload is a 500; a request in flight when Locust stops may land in one count only
    # (at most one per user: 3)
    assert upload.failures > 0 and abs(upload.failures - run.summary["rejected"]) <= 3
    assert abs(len(run.summary["accepted"]) - (upload.requests - upload.failures)) <= 3
    # a flow finishing while Locust stops can land in one count and not the other: one per user
    assert abs(run.summary["completed"] - run.flows["upload-to-completed"].requests) <= 3
    assert run.cpu_seconds > 0 and run.rps_per_core and run.history and run.samples
    assert {"stats", "history", "html", "log"} <= set(run.files)
    assert not list(tmp_path.glob("*-config.json"))  # the tokens do not stay on disk


def test_stage_runs_slo_scenarios_and_skips_control_ones(app: FakeApp, tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios" / "load"
    scenarios.mkdir(parents=True)
    describe(scenarios.parent)
    (scenarios / "quick.yaml").write_text(
        "id: quick\nkind: slo\nshape: {type: soak, users: 2, duration_s: 3}\nwait_s: [0.05, 0.1]\n"
        "slos:\n  - {id: SLO-upload-p95, flow: upload, p95_ms: 2000}\n"
        "  - {id: SLO-error-ratio, error_ratio: 0.01}\n"
    )
    (scenarios / "canary.yaml").write_text(
        "id: canary\nkind: canary-rollback\nshape: {type: soak, users: 1, duration_s: 1}\n"
    )
    ctx = StageContext(
        config=HarnessConfig.defaults(tmp_path), environment=_env(app), run_dir=tmp_path / "run", profile="pr"
    )
    results = {r.id: r for r in LoadStage().run(ctx)}
    assert results["SLO-upload-p95"].status is Status.PASSED
    assert results["SLO-error-ratio"].status is Status.FAILED  # the injected 500s
    generator = results["LOAD-quick-generator"]  # what Locust did: shown, never evidence
    assert generator.kind is ResultKind.SUMMARY and not generator.is_evidence
    assert float(generator.measured["rps_per_core"]) > 0
    assert str(results["SLO-upload-p95"].proven_on).startswith("Locust 2.")
    assert "evidence/load/quick/generator.json" in results["SLO-upload-p95"].evidence
    assert (
        results["LOAD-canary"].status is Status.SKIPPED and "control handle" in results["LOAD-canary"].message
    )
    timeline = json.loads((tmp_path / "run" / "evidence" / "load" / "timeline.json").read_text())
    assert timeline["samples"] and {
        "t",
        "users",
        "rps",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "replicas",
        "canary_weight",
    } <= set(timeline["samples"][0])
    for path in results["SLO-upload-p95"].evidence:
        assert (tmp_path / "run" / path).exists()


def test_a_locust_run_that_sent_nothing_is_an_error(app: FakeApp, tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios" / "load"
    scenarios.mkdir(parents=True)
    describe(scenarios.parent)
    (scenarios / "idle.yaml").write_text(
        "id: idle\nkind: slo\nshape: {type: soak, users: 0, duration_s: 2}\n"
        "slos:\n  - {id: SLO-error-ratio, error_ratio: 0.01}\n"
    )
    ctx = StageContext(
        config=HarnessConfig.defaults(tmp_path), environment=_env(app), run_dir=tmp_path / "run", profile="pr"
    )
    results = list(LoadStage().run(ctx))
    assert [(r.id, r.status, r.kind) for r in results] == [
        ("LOAD-idle-generator", Status.ERROR, ResultKind.SUMMARY)
    ]
    assert "Locust sent no request" in results[0].message


def test_an_interrupted_stage_has_yielded_its_finished_scenarios_and_writes_the_timeline(
    app: FakeApp, tmp_path: Path
) -> None:
    """The stage yields per scenario: what the engine holds when a signal arrives during the second
    scenario is the first one's results, and the timeline of what ran is still written."""
    scenarios = tmp_path / "scenarios" / "load"
    scenarios.mkdir(parents=True)
    describe(scenarios.parent)
    for name in ("a-first", "b-second"):
        (scenarios / f"{name}.yaml").write_text(
            f"id: {name}\nkind: slo\nshape: {{type: soak, users: 0, duration_s: 1}}\n"
            "slos:\n  - {id: SLO-error-ratio, error_ratio: 0.01}\n"
        )
    ctx = StageContext(
        config=HarnessConfig.defaults(tmp_path), environment=_env(app), run_dir=tmp_path / "run", profile="pr"
    )
    stage = LoadStage().run(ctx)
    first = next(iter(stage))
    assert first.id == "LOAD-a-first-generator"
    stage.close()  # what the engine's interruption does to a generator stage (GeneratorExit)
    timeline = json.loads((tmp_path / "run" / "evidence" / "load" / "timeline.json").read_text())
    assert isinstance(timeline, dict)


def test_stage_without_environment_or_scenarios(tmp_path: Path) -> None:
    ctx = StageContext(
        config=HarnessConfig.defaults(tmp_path), environment=None, run_dir=tmp_path, profile="pr"
    )
    assert next(iter(LoadStage().run(ctx))).status is Status.SKIPPED


def test_command_binds_loopback_and_summaries_merge(tmp_path: Path) -> None:
    cmd = locust_command(tmp_path / "x", "http://127.0.0.1:1", 3, 5599)
    assert (
        cmd[cmd.index("--master-bind-host") + 1] == "127.0.0.1" and cmd[cmd.index("--processes") + 1] == "3"
    )
    merged = merge_summaries(
        [
            {"accepted": [["a", 0]], "completed": 1, "versions": {"v1": 2}},
            {"accepted": [["b", 0]], "failed": 1, "versions": {"v1": 1, "v2": 4}},
        ]
    )
    assert merged["accepted"] == [["a", 0], ["b", 0]] and merged["versions"] == {"v1": 3, "v2": 4}


def test_distributed_mode_master_and_two_workers_on_loopback(app: FakeApp, tmp_path: Path) -> None:
    run = run_locust(
        "dist",
        host=app.url,
        tokens=["t-1"],
        out_dir=tmp_path,
        processes=2,
        margin_s=30,
        stages=build_stages({"type": "soak", "users": 4, "duration_s": 4}),
        extra={"wait_s": [0.05, 0.1]},
    )
    assert run.returncode == 0 and run.processes == 2 and run.flows["http"].requests > 0
    assert len(list((tmp_path / "dist-summary").glob("summary-*.json"))) >= 2  # one per worker
    assert run.summary["completed"] > 0
