"""The functional stage against the real reference app on the local target, and against the app
with defects planted on purpose (the named scenarios must fail)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.config import HarnessConfig
from harness.results import Status
from harness.stages.base import StageContext
from harness.stages.functional import FunctionalStage, Scenario, load_scenario, run_scenarios
from harness.stages.functional.posture import own_listening_ports, still_listening
from harness.targets import TargetSettings
from harness.targets.base import Environment
from harness.targets.lifecycle import running
from harness.targets.local import LocalTarget
from tests.harness.stages.functional.planted import planted_app_path

ROOT = Path(__file__).resolve().parents[4]
SCENARIOS = ROOT / "scenarios" / "functional"
pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(importlib.util.find_spec("easy_upload") is None, reason="reference app not installed"),
]
FAST = [
    "happy-png",
    "happy-pdf",
    "sse-other-user",
    "sse-late-subscriber",
    "bad-input-multipart",
    "fault-s3-down",
    "posture-listening",
]


def scenario(name: str, **changes: Any) -> Scenario:
    """A shipped scenario, optionally with its SSE deadlines changed (``deadline_s=...``)."""
    path = SCENARIOS / f"{name}.yaml"
    if not changes:
        return load_scenario(path, ROOT)
    data = yaml.safe_load(path.read_text())
    for step in data["steps"]:
        if "events" in step and "deadline_s" in changes:
            step.setdefault("expect", {})["deadline_s"] = changes["deadline_s"]
    return Scenario.from_dict(data, f"{path.relative_to(ROOT)} (modified)")


@pytest.fixture(scope="module")
def reference_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    settings = TargetSettings.for_root(ROOT, run_dir=tmp_path_factory.mktemp("run"), ready_timeout_s=90)
    with running(LocalTarget(settings)) as env:
        yield env


def test_a_representative_subset_passes_on_the_real_app(reference_env: Environment) -> None:
    outcomes = run_scenarios(reference_env, [scenario(n) for n in FAST], concurrency=4)
    assert {n: (o.status, o.message) for n, o in outcomes.items()} == {
        n: ("passed", outcomes[n].message) for n in FAST
    }
    drill = outcomes["fault-s3-down"].measured
    assert drill["invariant_orphans"] == 0 and drill["invariant_duplicates"] == 0


def test_the_stage_reports_results_with_evidence(reference_env: Environment, tmp_path: Path) -> None:
    config = HarnessConfig(
        root=ROOT,
        paths=HarnessConfig.defaults(ROOT).paths,
        functional={"scenarios": ["happy-json", "posture-pods"]},
    )
    results = {r.id: r for r in FunctionalStage().run(StageContext(config, reference_env, tmp_path, "pr"))}
    assert results["SCN-happy-json"].status is Status.PASSED, results["SCN-happy-json"].message
    assert results["SCN-posture-pods"].status is Status.SKIPPED
    evidence = (tmp_path / results["SCN-happy-json"].evidence[0]).read_text()
    assert '"event": "completed"' in evidence
    assert all(u.token not in evidence for u in reference_env.users)


@pytest.mark.slow
def test_the_worker_kill_drill_loses_nothing(reference_env: Environment) -> None:
    outcome = run_scenarios(reference_env, [scenario("fault-worker-kill")])["fault-worker-kill"]
    assert outcome.status == "passed", outcome.message
    assert outcome.measured["invariant_accepted"] == outcome.measured["invariant_completed"] == 8
    assert outcome.measured["invariant_duplicates"] == 0


def test_planted_defects_fail_the_named_scenarios(tmp_path: Path) -> None:
    """Ownership check removed and `completed` never published: the scenarios that guard them fail;
    afterwards nothing the target started is left listening."""
    settings = TargetSettings.for_root(
        ROOT,
        run_dir=tmp_path / "run",
        ready_timeout_s=90,
        app_path=planted_app_path(tmp_path / "planted"),
        env={"HARNESS_PLANTED_FLAWS": "ownership,no_completed", "SSE_HEARTBEAT_S": "120"},
    )
    before = set(own_listening_ports())
    with running(LocalTarget(settings)) as env:
        ports = set(own_listening_ports()) - before  # this target's, not the module's
        chosen = [
            scenario("happy-png", deadline_s=8),
            scenario("sse-other-user", deadline_s=8),
            scenario("bad-input-auth"),
        ]
        outcomes = run_scenarios(env, chosen, concurrency=3)
    assert ports and still_listening(ports) == []
    happy, other, auth = outcomes["happy-png"], outcomes["sse-other-user"], outcomes["bad-input-auth"]
    assert happy.status == "failed" and happy.failed_step == 1, happy.message
    assert "did not end within 8" in happy.message
    assert other.status == "failed" and other.failed_step == 2, other.message
    assert "status 200, expected 404" in other.message
    assert auth.status == "failed" and "someone else's upload (read)" in auth.message, auth.message


ABUSE = sorted(p.stem for p in SCENARIOS.glob("abuse-*.yaml"))


def test_the_abuse_scenarios_pass_on_the_hardened_app(reference_env: Environment) -> None:
    """Issue 17's app fixes in: hostile files stay within the manifests' budget and settle, one user
    holding streams gets 429 while another uploads, slow clients are cut off within their bounds."""
    outcomes = run_scenarios(reference_env, [scenario(n) for n in ABUSE], concurrency=4)
    assert {n: (o.status, o.message) for n, o in outcomes.items()} == {
        n: ("passed", outcomes[n].message) for n in ABUSE
    }
    images = outcomes["abuse-hostile-images"].measured
    assert "WORKER_CONCURRENCY=4" in str(images["memory_budget"]), images
    assert 0 < float(images["webp_bomb_2900_rise_mib"]) < 256  # a real decode, seen and within budget
    assert int(outcomes["abuse-fairness-streams"].measured["streams_first_refusal_at"]) > 1
