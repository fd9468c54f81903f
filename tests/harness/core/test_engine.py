from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.config import HarnessConfig
from harness.engine import Engine
from harness.events import BaseHandler, Event, RunFinished, StageFinished, StageStarted, TargetReady
from harness.redact import MASK
from harness.results import Result, Status
from harness.schemas import results_errors
from harness.targets.base import Target
from harness.targets.lifecycle import stop_signals_received
from harness.verdict import summarize
from tests.harness.core.conftest import StageRegistrar
from tests.harness.core.fakes import SECRET_TOKEN, FakeTarget

ROOT = Path(__file__).resolve().parents[3]


class Recorder(BaseHandler):
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.shut = False

    def handle_event(self, event: Event) -> None:
        self.events.append(event)

    def shutdown(self) -> None:
        self.shut = True


def fake_target(*, fail_up: bool = False, fail_down: bool = False) -> object:
    def factory(config: HarnessConfig) -> Target:
        return FakeTarget(fail_up=fail_up, fail_down=fail_down)

    return factory


def run(config: HarnessConfig, **kwargs: object) -> tuple[Engine, Recorder]:
    recorder = Recorder()
    engine = Engine(config, handlers=[recorder], **kwargs)  # type: ignore[arg-type]
    engine.run()
    return engine, recorder


def read_results(engine: Engine) -> dict[str, object]:
    data: dict[str, object] = json.loads((engine.run_dir / "results.json").read_text(encoding="utf-8"))
    assert results_errors(data) == []
    return data


def test_crashing_stage_becomes_an_error_and_reports_are_still_written(
    config: HarnessConfig, use_stages: StageRegistrar
) -> None:
    use_stages(policy="CrashingStage")
    engine, recorder = run(config.update(stages="policy"))
    assert engine.exit_code == 2
    [summary] = engine.stages
    assert (summary.status, summary.message) == (
        Status.ERROR,
        "stage crashed: RuntimeError: checkov exploded",
    )
    for name in ("results.json", "junit.xml", "results.sarif", "summary.md"):
        assert (engine.run_dir / name).is_file(), name
    crash = (engine.run_dir / "evidence" / "policy" / "crash.txt").read_text(encoding="utf-8")
    assert "RuntimeError: checkov exploded" in crash
    assert read_results(engine)["exit_code"] == 2
    assert recorder.shut


def test_env_less_stages_never_stand_a_target_up(config: HarnessConfig, use_stages: StageRegistrar) -> None:
    use_stages(policy="FailingStage")
    engine, recorder = run(config.update(stages="policy"), target_factory=fake_target())
    assert FakeTarget.ups == FakeTarget.downs == 0
    assert engine.exit_code == 1
    assert not any(isinstance(e, TargetReady) for e in recorder.events)


def test_not_built_stage_is_skipped_not_passed(config: HarnessConfig, use_stages: StageRegistrar) -> None:
    use_stages(dast="NoSuchStage", load="NoSuchStage")  # the module exists, the class does not
    engine, _ = run(config.update(stages="dast,load"), target_factory=fake_target())
    statuses = {s.name: (s.status, s.message) for s in engine.stages}
    assert statuses["dast"][0] is Status.SKIPPED
    assert statuses["dast"][1].startswith("stage 'dast' is not built yet")
    assert FakeTarget.ups == 0


def test_missing_stage_module_message(config: HarnessConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import stages

    monkeypatch.setitem(stages.STAGES, "load", "harness.stages.no_such_module:LoadStage")
    engine, _ = run(config.update(stages="load"))
    assert [(s.status, s.message) for s in engine.stages] == [
        (Status.SKIPPED, "stage 'load' is not built yet")
    ]


def test_target_is_shared_by_stages_and_always_torn_down(
    config: HarnessConfig, use_stages: StageRegistrar
) -> None:
    use_stages(policy="PassingStage", functional="EnvStage", dast="CrashingEnvStage")
    engine, recorder = run(config.update(stages="policy,functional,dast"), target_factory=fake_target())
    assert (FakeTarget.ups, FakeTarget.downs) == (1, 1)
    assert [s.status for s in engine.stages] == [Status.PASSED, Status.PASSED, Status.ERROR]
    assert engine.exit_code == 2
    kinds = [type(e).__name__ for e in recorder.events]
    assert kinds.index("TargetStarting") > kinds.index("StageFinished")  # only when first needed
    assert kinds[-2:] == ["TargetStopped", "RunFinished"]


def test_target_that_fails_to_come_up_errors_env_stages_and_is_still_torn_down(
    config: HarnessConfig, use_stages: StageRegistrar
) -> None:
    use_stages(policy="PassingStage", functional="EnvStage", dast="EnvStage")
    engine, _ = run(config.update(stages="policy,functional,dast"), target_factory=fake_target(fail_up=True))
    assert FakeTarget.ups == 1  # tried once, not once per stage
    assert FakeTarget.downs == 1
    messages = [s.message for s in engine.stages]
    expected = "not run: target 'local' could not be stood up: ConnectionError: postgres did not start"
    assert messages[1:] == [expected, expected]
    assert engine.exit_code == 2
    assert (engine.run_dir / "evidence" / "target" / "crash.txt").is_file()


def test_teardown_failure_is_an_error(config: HarnessConfig, use_stages: StageRegistrar) -> None:
    use_stages(functional="EnvStage")
    engine, _ = run(config.update(stages="functional"), target_factory=fake_target(fail_down=True))
    assert engine.stages[-1].name == "teardown"
    assert engine.stages[-1].message == "target 'local' teardown failed: OSError: could not stop redis"
    assert engine.exit_code == 2


def test_secrets_of_the_environment_are_redacted_everywhere(
    config: HarnessConfig, use_stages: StageRegistrar
) -> None:
    use_stages(functional="EnvStage")
    engine, recorder = run(config.update(stages="functional"), target_factory=fake_target())
    evidence = (engine.run_dir / "evidence" / "functional" / "request.txt").read_text(encoding="utf-8")
    assert SECRET_TOKEN not in evidence
    assert MASK in evidence
    for path in engine.run_dir.iterdir():
        if path.is_file():
            assert SECRET_TOKEN not in path.read_text(encoding="utf-8"), path.name
    [finished] = [e for e in recorder.events if isinstance(e, RunFinished)]
    assert finished.record.results[0].message == f"used token {MASK}"


def test_a_broken_handler_does_not_stop_the_run(config: HarnessConfig, use_stages: StageRegistrar) -> None:
    class Broken(BaseHandler):
        def handle_event(self, event: Event) -> None:
            if isinstance(event, StageStarted):
                raise RuntimeError("terminal gone")

    use_stages(policy="PassingStage")
    engine = Engine(config.update(stages="policy"), handlers=[Broken()])
    record = engine.run()
    assert record.exit_code == 0
    assert engine.exit_code == 2
    assert (engine.run_dir / "summary.md").is_file()


def test_reporter_failure_makes_exit_code_2(config: HarnessConfig, use_stages: StageRegistrar) -> None:
    from harness.output import ReportWriter

    class Broken:
        NAME = "broken"

        def write(self, record: object, run_dir: Path) -> list[Path]:
            raise OSError("disk full")

    use_stages(policy="PassingStage")
    engine = Engine(config.update(stages="policy"), report_writer=ReportWriter([Broken()]))
    engine.run()
    assert engine.handler_errors == ["report broken: OSError: disk full"]
    assert engine.exit_code == 2


def test_events_in_order(config: HarnessConfig, use_stages: StageRegistrar) -> None:
    use_stages(policy="FailingStage")
    _, recorder = run(config.update(stages="policy"))
    kinds = [type(e).__name__ for e in recorder.events]
    assert kinds == [
        "RunStarted",
        "StageStarted",
        "ResultRecorded",
        "ResultRecorded",
        "StageFinished",
        "RunFinished",
    ]
    finished = [e for e in recorder.events if isinstance(e, StageFinished)]
    assert finished[0].summary.message == "1 passed, 1 failed"


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], Status.SKIPPED),
        ([Status.PASSED, Status.SKIPPED], Status.PASSED),
        ([Status.WAIVED], Status.PASSED),
        ([Status.SKIPPED, Status.SKIPPED], Status.SKIPPED),
        ([Status.PASSED, Status.FAILED], Status.FAILED),
        ([Status.FAILED, Status.ERROR], Status.ERROR),
    ],
)
def test_summarize(statuses: list[Status], expected: Status) -> None:
    results = [Result(f"R{i}", "policy", "t", s, message="why") for i, s in enumerate(statuses)]
    assert summarize("policy", results).status is expected


SIGNAL_SCRIPT = """
import sys
from pathlib import Path
import harness.engine
from harness import stages
from harness.cli import main
from tests.harness.core.fakes import FakeTarget
stages.STAGES["policy"] = "tests.harness.core.fakes:PassingStage"
stages.STAGES["functional"] = "tests.harness.core.fakes:SleepingEnvStage"
log = Path(sys.argv[1])
harness.engine.default_target_factory = lambda config, **kw: FakeTarget(log=log)
sys.exit(main(["verify", "--stages", "policy,functional,dast", "--plain"]))
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_tears_down_and_writes_reports(tmp_path: Path, signum: signal.Signals) -> None:
    (tmp_path / "harness.toml").write_text("", encoding="utf-8")
    marker, log = tmp_path / "started", tmp_path / "target.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HARNESS_TEST_MARKER": str(marker), "CI": "true"}
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGNAL_SCRIPT, str(log)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), proc.communicate(timeout=30)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, (out, err)
    assert [line.split()[0] for line in log.read_text(encoding="utf-8").splitlines()] == ["up", "down"]
    data = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text(encoding="utf-8"))
    stages = {s["name"]: (s["status"], s["message"]) for s in data["stages"]}
    assert stages["policy"] == ("passed", "1 passed")
    assert stages["functional"] == ("error", f"interrupted by {signum.name}")
    assert stages["dast"] == ("skipped", f"run interrupted by {signum.name}")
    assert "Traceback" not in err


KEEP_SCRIPT = SIGNAL_SCRIPT.replace("fakes:SleepingEnvStage", "fakes:HalfDoneEnvStage")


def test_an_interrupted_run_keeps_what_finished_and_exits_promptly(tmp_path: Path) -> None:
    """Observed from outside: results.json of a run SIGINTed mid-stage (issue 18: a Ctrl-C 70 s
    into the functional stage reported "no results", and one run took 23 s to exit)."""
    (tmp_path / "harness.toml").write_text("", encoding="utf-8")
    marker, log = tmp_path / "started", tmp_path / "target.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HARNESS_TEST_MARKER": str(marker), "CI": "true"}
    proc = subprocess.Popen([sys.executable, "-c", KEEP_SCRIPT, str(log)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), proc.communicate(timeout=30)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        exit_s = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, (out, err)
    assert exit_s < 5.0, f"took {exit_s:.1f}s to exit after SIGINT"
    data = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text(encoding="utf-8"))
    assert [r["id"] for r in data["results"]] == ["CKV_AWS_18", "SCN-upload-png", "SCN-upload-pdf"]
    stages = {s["name"]: (s["status"], s["message"]) for s in data["stages"]}
    assert stages["functional"] == ("error", "interrupted by SIGINT after 2 results (kept)")
    assert [line.split()[0] for line in log.read_text(encoding="utf-8").splitlines()] == ["up", "down"]


def test_a_ctrl_c_handed_in_by_pytest_counts_as_a_stop_signal(
    config: HarnessConfig, use_stages: StageRegistrar
) -> None:
    """Under pytest (``owner=False``) no guard of ours sees the SIGINT; the lifecycle counts the
    KeyboardInterrupt pytest hands in, so a target's ``down()`` takes its interrupted path (the local
    target kills Terraform and its emulator instead of waiting for the apply and a destroy)."""
    use_stages(policy="PassingStage")
    engine = Engine(config.update(stages="policy"))
    before = stop_signals_received()
    with engine.lifecycle(owner=False):
        raise KeyboardInterrupt
    assert stop_signals_received() == before + 1
    assert [(s.name, s.message) for s in engine.stages] == [("policy", "interrupted by SIGINT")]
