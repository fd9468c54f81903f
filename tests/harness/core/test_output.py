from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from harness.events import RunFinished, StageFinished, StageStarted
from harness.output import PlainProgress, RichProgress, is_ci, progress_handler
from harness.results import Result, StageSummary, Status
from tests.harness.core.conftest import make_record


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_ci_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    assert is_ci(io.StringIO())
    assert not is_ci(FakeTty())
    monkeypatch.setenv("CI", "true")
    assert is_ci(FakeTty())
    assert isinstance(progress_handler(FakeTty()), PlainProgress)
    monkeypatch.delenv("CI")
    assert isinstance(progress_handler(FakeTty()), RichProgress)


def test_rich_progress_renders_on_a_terminal(tmp_path: Path) -> None:
    buffer = io.StringIO()
    progress = RichProgress(Console(file=buffer, force_terminal=True, width=100))
    progress.handle_event(StageStarted("policy", 1, 1))
    progress.handle_event(StageFinished(StageSummary("policy", Status.FAILED, "1 failed", 0.5)))
    progress.handle_event(RunFinished(make_record(), tmp_path / "run"))
    progress.shutdown()
    text = buffer.getvalue()
    assert "policy (0.5s)  1 failed" in text
    assert "ERROR (exit 2): 1 passed, 1 failed, 1 waived, 1 skipped, 1 error" in text
    assert "gap: stage dast skipped: stage 'dast' is not built yet" in text


def test_plain_progress_lines(tmp_path: Path) -> None:
    buffer = io.StringIO()
    progress = PlainProgress(buffer)
    progress.handle_event(StageStarted("dast", 3, 4))
    progress.handle_event(
        StageFinished(StageSummary("dast", Status.SKIPPED, "stage 'dast' is not built yet"))
    )
    assert buffer.getvalue().splitlines() == [
        "harness: [3/4] dast ...",
        "harness: dast skipped in 0.0s (stage 'dast' is not built yet)",
    ]


def test_verdict_never_claims_a_pass_without_a_passed_check() -> None:
    skipped = make_record(results=[Result("A", "policy", "a", Status.SKIPPED, message="why")], stages_=[])
    assert skipped.verdict.status.value == "NOTHING VERIFIED"
    passed = make_record(results=[Result("A", "policy", "a", Status.PASSED)], stages_=[])
    assert passed.verdict.status.value == "PASSED"
    assert make_record().verdict.status.value == "ERROR"
