"""The runner against an in-memory API (no services): steps, expectations, evidence, outcomes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from harness.config import HarnessConfig
from harness.results import Status
from harness.stages.base import StageContext
from harness.stages.functional import FunctionalStage, RunnerOptions, Scenario, ScenarioRunner
from harness.stages.functional.client import Exchange
from harness.stages.functional.context import Context, ScenarioError, StepFailed
from harness.stages.functional.stage import FunctionalOptions
from harness.stages.functional.steps_http import check_http, sequence_regex
from harness.targets.base import AwsEndpoint, Environment, ReplicaStatus, TestUser
from tests.harness.stages.functional.fake_api import TOKENS, FakeApi

HAPPY: list[dict[str, Any]] = [
    {
        "upload": {"file": {"type": "png"}},
        "as": "up",
        "expect": {"status": 201, "json": {"state": "completed"}},
    },
    {
        "events": {"of": "up"},
        "expect": {
            "sequence": ["state?", "progress*", "completed"],
            "fields": {"progress": ["stage"]},
            "deadline_s": 5,
        },
    },
    {
        "request": {"method": "GET", "path": "/api/uploads/${up.id}", "user": "bob"},
        "expect": {"status": 404, "error": {"code": "not_found"}},
    },
]


def env(control: Any = None, target: str = "fake") -> Environment:
    return Environment(
        target=target,
        api_url="http://fake.test",
        web_url="http://fake.test",
        aws=AwsEndpoint(None, "us-east-1", "x", "y"),
        users=[TestUser(name, token) for token, name in TOKENS.items()],
        control=control,
    )


def scenario(steps: list[dict[str, Any]], name: str = "t") -> Scenario:
    return Scenario.from_dict({"name": name, "steps": steps}, f"{name}.yaml")


def run(steps: list[dict[str, Any]], *flaws: str, control: Any = None) -> Any:
    api = FakeApi(set(flaws))
    runner = ScenarioRunner(env(control), RunnerOptions(transport=api.transport()))
    return runner.run(scenario(steps))


def test_happy_path_passes_and_records_sse_and_exchanges() -> None:
    outcome = run(HAPPY)
    assert outcome.status == "passed", outcome.message
    sse = outcome.steps[1]["detail"]["sse"]
    assert [e["event"] for e in sse] == ["state", "progress", "completed"]
    assert all(isinstance(e["t"], float) for e in sse)
    assert outcome.steps[0]["exchanges"][0]["status"] == 201
    assert outcome.measured["http_exchanges"] == 3
    assert outcome.measured["sse_events_up"] == 3  # what the SSE figures of the report come from
    assert outcome.measured["sse_last_event_s_up"] == pytest.approx(sse[-1]["t"], abs=0.001)


def test_a_broken_ownership_check_fails_the_named_step() -> None:
    outcome = run(HAPPY, "ownership")
    assert outcome.status == "failed" and outcome.failed_step == 2
    assert "status 200, expected 404" in outcome.message


def test_a_stream_without_completed_fails() -> None:
    outcome = run(HAPPY, "no_completed")
    assert outcome.status == "failed" and outcome.failed_step == 1
    assert "do not match" in outcome.message


def test_refusals_must_use_the_json_error_shape() -> None:
    steps = [
        {"request": {"method": "GET", "path": "/api/uploads", "auth": "none"}, "expect": {"status": 401}}
    ]
    assert run(steps).status == "passed"
    outcome = run(steps, "error_shape")
    assert outcome.status == "failed" and "without the JSON error shape" in outcome.message


def test_a_5xx_fails_even_without_an_expected_status() -> None:
    outcome = run([{"request": {"method": "GET", "path": "/api/uploads"}}], "crash")
    assert outcome.status == "failed" and "server error 500" in outcome.message


def test_a_failed_step_names_the_class_it_guards() -> None:
    steps = [{"request": {"method": "GET", "path": "/api/uploads"}, "guards": "bad input"}]
    assert run(steps).status == "passed"
    record = run(steps, "crash").steps[0]
    assert record["status"] == "failed", record
    assert record["message"].startswith("bad input: GET /api/uploads: "), record


def test_fault_steps_are_skipped_without_a_control_handle() -> None:
    outcome = run([{"action": {"kill": "worker"}}])
    assert outcome.status == "skipped"
    assert outcome.message.endswith("needs the control handle (target 'fake' has none)")


class FakeControl:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.count = 2

    def replicas(self, component: str) -> list[ReplicaStatus]:
        return [ReplicaStatus(component, f"{component}-{i}", "v1") for i in range(self.count)]

    def kill(self, component: str, replica: int) -> None:
        self.calls.append(("kill", component, str(replica)))

    def stop(self, service: str) -> None:
        self.calls.append(("stop", service))

    def start(self, service: str) -> None:
        self.calls.append(("start", service))

    def scale(self, component: str, n: int) -> None:
        self.calls.append(("scale", component, str(n)))


def test_actions_reach_the_control_handle_and_are_healed_after_a_failure() -> None:
    control = FakeControl()
    steps: list[dict[str, Any]] = [
        {"action": {"kill": "worker", "replica": "all"}},
        {"action": {"stop": "s3"}},
        {"request": {"method": "GET", "path": "/api/uploads"}, "expect": {"status": 503}},
    ]
    outcome = run(steps, control=control)
    assert outcome.status == "failed" and outcome.failed_step == 2
    assert control.calls == [
        ("kill", "worker", "0"),
        ("kill", "worker", "1"),
        ("stop", "s3"),
        ("start", "s3"),
    ]
    assert outcome.steps[-1] == {"healing": ["started s3"]}


def test_repeat_collects_a_list_and_runs_concurrently() -> None:
    api = FakeApi()
    steps = [
        {
            "repeat": {
                "times": 6,
                "concurrency": 3,
                "steps": [{"upload": {"file": {"type": "text", "text": "n ${i}"}}, "as": "ups"}],
            }
        }
    ]
    outcome = ScenarioRunner(env(), RunnerOptions(transport=api.transport())).run(scenario(steps))
    assert outcome.status == "passed", outcome.message
    assert len(api.uploads) == 6 and outcome.measured["repeat_iterations"] == 6
    assert {u["body"]["size_bytes"] for u in api.uploads.values()} == {3}


def test_a_repeat_for_a_duration_keeps_starting_iterations_until_it_is_over() -> None:
    """``for_s``: the workers start iterations until the time is up, each at most every ``every_s``
    (an iteration here takes next to nothing: without the pacing there would be hundreds), each
    numbered once; the uploads the fake API received are the observation, not the runner's count."""
    api = FakeApi()
    steps = [{"repeat": {"for_s": 0.5, "every_s": 0.1, "concurrency": 2, "steps": [
        {"upload": {"file": {"type": "text", "text": "n ${i}"}}, "as": "ups"},
    ]}}]
    began = time.monotonic()
    runner = ScenarioRunner(env(FakeControl()), RunnerOptions(transport=api.transport()))
    outcome = runner.run(scenario(steps))
    took = time.monotonic() - began
    assert outcome.status == "passed", outcome.message
    iterations = int(outcome.measured["repeat_iterations"])
    assert 6 <= len(api.uploads) == iterations <= 10, iterations  # two workers, 5 starts each at most
    assert took >= 0.5
    assert len({u["body"]["sha256"] for u in api.uploads.values()}) == iterations  # each i once


def test_a_repeat_for_a_duration_is_bounded_before_it_runs() -> None:
    steps = [{"repeat": {"for_s": 60, "every_s": 0.1, "concurrency": 2,
                         "steps": [{"upload": {"file": {"type": "png"}}}]}}]
    outcome = run(steps)
    assert outcome.status == "error", outcome.message
    assert "repeat: for_s / every_s x concurrency allows 1200 iterations, more than 1000" in outcome.message


def test_unknown_variables_are_errors_not_failures() -> None:
    outcome = run([{"request": {"method": "GET", "path": "/api/uploads/${nope.id}"}}])
    assert outcome.status == "error" and "unknown variable ${nope.id}" in outcome.message


def test_multipart_and_raw_requests_are_sent_as_written() -> None:
    api = FakeApi()
    steps = [
        {
            "request": {
                "method": "POST",
                "path": "/api/uploads",
                "boundary": "BND",
                "multipart": [
                    {"name": "file", "filename": "a.txt", "text": "x"},
                    {"name": "file", "filename": "b.txt", "text": "y"},
                ],
            },
            "expect": {"status": 201},
        },
        {
            "request": {
                "method": "GET",
                "path": "/api/uploads",
                "pad_headers": {"count": 3, "size": 5},
                "content_type": "multipart/form-data",
            },
            "expect": {"status": 404},
        },
    ]
    outcome = ScenarioRunner(env(), RunnerOptions(transport=api.transport())).run(scenario(steps))
    assert outcome.status == "passed", outcome.message
    body = api.requests[0].read()
    assert body.count(b'name="file"') == 2 and body.endswith(b"--BND--\r\n")
    assert api.requests[1].headers["x-pad-2"] == "ppppp"


def test_sequence_patterns() -> None:
    pattern = sequence_regex(["state?", "progress*", "completed"])
    assert pattern.match("state progress progress completed ")
    assert pattern.match("completed ")
    assert not pattern.match("state completed progress ")
    assert not sequence_regex(["progress+", "completed"]).match("completed ")
    either = sequence_regex(["state?", "state|progress*", "completed"])
    assert either.match("state state progress state completed ") and not either.match("state failed ")


def test_check_http_expectations() -> None:
    ok = Exchange("GET", "http://x/a", {}, "", status=200, body=b'{"items": [1, 2], "next": "abc"}')
    check_http(None, ok, {"lengths": {"items": 2}, "match": {"next": "^a"}, "json": {"items": [1, 2]}}, 200)  # type: ignore[arg-type]
    with pytest.raises(StepFailed, match="items has 2 items, expected 3"):
        check_http(None, ok, {"lengths": {"items": 3}}, 200)  # type: ignore[arg-type]
    refused = Exchange(
        "GET",
        "http://x/a",
        {},
        "",
        status=413,
        body=b'{"error": {"code": "payload_too_large", "message": "too big"}}',
    )
    with pytest.raises(StepFailed, match=r"error\.code 'payload_too_large', expected 'x'"):
        check_http(None, refused, {"status": 413, "error": {"code": "x"}}, None)  # type: ignore[arg-type]


def test_templates_render_numbers_and_strings() -> None:
    ctx = Context.__new__(Context)
    ctx.vars, ctx.users, ctx.marker, ctx.limits = {"a": {"b": 5}}, {}, "m1", {"max": 10}
    assert ctx.render("${limits.max}+1") == 11
    assert ctx.render({"p": "/x/${a.b}/${marker}", "steps": ["${untouched}"]}) == {
        "p": "/x/5/m1",
        "steps": ["${untouched}"],
    }
    with pytest.raises(ScenarioError):
        ctx.render("${a.c}")


def test_the_stage_writes_results_and_redacted_evidence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "scenarios" / "functional"
    directory.mkdir(parents=True)
    (directory / "happy.yaml").write_text("name: happy\nsteps:\n  - upload: {file: {type: png}}\n")
    (directory / "drill.yaml").write_text("name: drill\nsteps:\n  - action: {restart: redis}\n")
    config = HarnessConfig.defaults(tmp_path)
    stage_env = env()
    api = FakeApi()
    monkeypatch.setattr(
        RunnerOptions,
        "from_config",
        classmethod(lambda cls, options, app: RunnerOptions(transport=api.transport())),
    )
    results = FunctionalStage().run(StageContext(config, stage_env, tmp_path / "run", "pr"))
    by_id = {r.id: r for r in results}
    assert by_id["SCN-happy"].status is Status.PASSED
    assert by_id["SCN-drill"].status is Status.SKIPPED
    evidence = (tmp_path / "run" / by_id["SCN-happy"].evidence[0]).read_text()
    assert "tok-alice" not in evidence and "[REDACTED]" in evidence


def test_exclusive_scenarios_run_alone_after_the_shared_ones() -> None:
    import threading

    from harness.results import Result, Severity
    from harness.stages.functional.runner import Outcome
    from harness.stages.functional.stage import run_all

    active: list[int] = []
    seen: list[tuple[str, int]] = []
    lock = threading.Lock()

    class Recording:
        def run(self, s: Scenario) -> Outcome:
            with lock:
                active.append(1)
                seen.append((s.name, len(active)))
            threading.Event().wait(0.05)
            with lock:
                active.pop()
            return Outcome("passed", "")

    shared = [scenario([{"ready": {}}], f"s{i}") for i in range(4)]
    drills = [scenario([{"action": {"restart": "redis"}}], f"d{i}") for i in range(2)]
    order = [drills[0], *shared, drills[1]]
    def passed(s: Scenario, o: Outcome) -> Result:
        return Result(s.result_id, "functional", s.name, Status.PASSED, Severity.INFO)

    results = list(run_all(Recording(), order, 4, passed))  # type: ignore[arg-type]
    ids = [r.id for r in results]  # as they finished: the shared ones in any order, then the drills
    assert sorted(ids[:4]) == sorted(s.result_id for s in shared)
    assert ids[4:] == [d.result_id for d in drills]
    assert [name for name, _ in seen[-2:]] == ["d0", "d1"]
    assert all(concurrent == 1 for name, concurrent in seen if name.startswith("d"))
    assert max(concurrent for _, concurrent in seen) > 1


def test_catalogs_run_every_step_and_name_all_broken_ones() -> None:
    api = FakeApi({"ownership"})
    steps = [{"upload": {"file": {"type": "png"}}, "as": "up"},
             {"request": {"method": "GET", "path": "/api/uploads/${up.id}", "user": "bob"},
              "expect": {"status": 404}, "name": "peer read"},
             {"request": {"method": "GET", "path": "/api/uploads", "auth": "none"},
              "expect": {"status": 401}},
             {"request": {"method": "GET", "path": "/api/uploads/${up.id}/events", "user": "bob"},
              "expect": {"status": 404}, "name": "peer events"}]
    catalog = Scenario.from_dict({"name": "c", "continue_on_failure": True, "steps": steps}, "c.yaml")
    outcome = ScenarioRunner(env(), RunnerOptions(transport=api.transport())).run(catalog)
    assert outcome.status == "failed" and outcome.failed_step == 1
    assert outcome.message.startswith("steps[1] (peer read): ")
    assert "+1 more: steps[3] (peer events)" in outcome.message
    assert [s["status"] for s in outcome.steps] == ["passed", "failed", "passed", "failed"]
    assert outcome.measured["broken_steps"] == 2


def test_options_select_scenarios(tmp_path: Path) -> None:
    directory = tmp_path / "scenarios" / "functional"
    directory.mkdir(parents=True)
    (directory / "quick.yaml").write_text("name: quick\nsteps:\n  - ready: {}\n")
    (directory / "drill.yaml").write_text("name: drill\nslow: true\nsteps:\n  - action: {restart: redis}\n")
    (directory / "late.yaml").write_text("name: late\nprofiles: [nightly]\nsteps:\n  - ready: {}\n")
    ctx = StageContext(HarnessConfig.defaults(tmp_path), env(), tmp_path / "run", "pr")
    names = [s.name for s in FunctionalStage.scenarios(ctx, FunctionalOptions())]
    assert names == ["drill", "quick"]
    fast = FunctionalOptions(include_slow=False)
    assert [s.name for s in FunctionalStage.scenarios(ctx, fast)] == ["quick"]
    assert [s.name for s in FunctionalStage.scenarios(ctx, FunctionalOptions(skip=("quick",)))] == ["drill"]


class PostureControl:
    """Replicas as a platform reports them: processes of this host or not, listening where told."""

    platform = "fake platform"

    def __init__(self, pid: int | None, listening: tuple[str, ...]) -> None:
        self.pid, self.listening = pid, listening

    def replicas(self, component: str) -> list[ReplicaStatus]:
        return [ReplicaStatus(component, f"{component}-0", "v1", pid=self.pid, listening=self.listening)]


def test_listening_posture_fails_on_a_replica_bound_beyond_loopback() -> None:
    outcome = run([{"posture": {"check": "listening"}}], control=PostureControl(1, ("0.0.0.0:8000",)))
    assert outcome.status == "failed" and "api-0 listens on 0.0.0.0:8000" in outcome.message


def test_posture_is_skipped_where_the_platform_cannot_show_it() -> None:
    outcome = run([{"posture": {"check": "listening"}}], control=PostureControl(None, ()))
    assert outcome.status == "skipped" and "not ours to list" in outcome.message
    outcome = run([{"posture": {"check": "pods"}}], control=PostureControl(None, ()))
    assert outcome.status == "skipped" and "fake platform runs no container" in outcome.message
    outcome = run([{"posture": {"check": "pods"}}])
    assert outcome.status == "skipped" and "needs the control handle" in outcome.message


def test_alerts_without_prometheus_are_not_checked_and_the_scenario_stands() -> None:
    outcome = run([*HAPPY, {"alerts": {"none": True}}])
    assert outcome.status == "passed", outcome.message
    assert "not checked" in outcome.message and "offers no Prometheus" in outcome.message
    assert outcome.steps[-1]["status"] == "skipped"
    broken = run([*HAPPY, {"alerts": {"none": True}}], "ownership")
    assert broken.status == "failed"  # an observer's skip never hides a real failure
