"""Settling and cleanup checks over fake rows and a fake multipart listing: bounds made of settings
(deployed first, then the manifests), a stuck row and an open multipart upload fail naming the class.
The drills themselves run against the real app in test_abuse_planted.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.stages.functional import budget
from harness.stages.functional.bounds import bound_of
from harness.stages.functional.context import Context, ScenarioError, StepFailed, Upload
from harness.stages.functional.steps_settle import _cleaned, settled
from tests.harness.stages.functional.test_runner import env


class FakeBackends:
    has_database = True

    def __init__(self, rows: dict[str, dict[str, Any]], multipart: list[str] | None = None) -> None:
        self._rows, self.multipart = rows, multipart or []

    def rows(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        return {i: self._rows[i] for i in ids if i in self._rows}

    def open_multipart(self, logical: str) -> list[str]:
        return list(self.multipart)


@pytest.fixture
def overlay(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setattr(budget, "_rendered_settings",
                        lambda overlay: (("MULTIPART_SWEEP_S", "60", "ConfigMap app-config"),))
    return tmp_path


def context(overlay: Path, backends: Any, deployed: dict[str, str] | None = None) -> Context:
    environment = env()
    environment.extra["manifests"] = str(overlay)
    ctx = Context(environment, Any, backends, {}, True, {})  # type: ignore[arg-type]  # api unused here
    ctx.deployed.update(deployed or {})
    ctx.vars["up"] = Upload("u1", "mallory", "x", 1, "csv", "a.csv", {})
    return ctx


def test_a_bound_prefers_the_deployed_setting_and_counts_ms_in_milliseconds(overlay: Path) -> None:
    ctx = context(overlay, FakeBackends({}), {"WORKER_LOCK_MS": "2000"})
    bound = bound_of(ctx, {"settings": {"WORKER_LOCK_MS": 2, "MULTIPART_SWEEP_S": 0.5}, "plus_s": 1})
    assert bound.seconds == 4 + 30 + 1
    assert "2 x WORKER_LOCK_MS=2000 (deployed by this scenario)" in bound.source
    assert "0.5 x MULTIPART_SWEEP_S=60 (ConfigMap app-config in" in bound.source


def test_a_setting_found_nowhere_is_a_scenario_error(overlay: Path) -> None:
    with pytest.raises(ScenarioError, match="SETTLE_AFTER_S"):
        bound_of(context(overlay, FakeBackends({})), {"settings": {"SETTLE_AFTER_S": 1}})


def test_a_row_still_processing_after_the_bound_fails_settling(overlay: Path) -> None:
    stuck = {"state": "processing", "attempts": 4, "failure_reason": None}
    ctx = context(overlay, FakeBackends({"u1": stuck}), {"JOB_BACKOFF_MS": "100"})
    with pytest.raises(StepFailed, match=r"^settling: upload u1 still 'processing' \(attempts 4\).*"
                                         r"bound 0.3 s = 3 x JOB_BACKOFF_MS=100 \(deployed"):
        settled(ctx, {"of": "up"}, {"within": {"settings": {"JOB_BACKOFF_MS": 3}}}, None)


def test_a_final_row_passes_and_a_leaking_reason_fails(overlay: Path) -> None:
    row = {"state": "failed", "attempts": 5, "failure_reason": "processing failed 5 times; giving up"}
    ctx = context(overlay, FakeBackends({"u1": row}), {"JOB_BACKOFF_MS": "100"})
    expect: dict[str, Any] = {"within": {"settings": {"JOB_BACKOFF_MS": 3}}, "state": "failed"}
    assert settled(ctx, {"of": "up"}, expect, None)[0]["state"] == "failed"
    assert ctx.measured["settle_up_bound"] == "0.3 s = 3 x JOB_BACKOFF_MS=100 (deployed by this scenario)"
    row["failure_reason"] = "RecursionError(<_io.BytesIO object at 0x7f9c>)"
    with pytest.raises(StepFailed, match="leaks internals"):
        settled(ctx, {"of": "up"}, {**expect, "reason_not_match": "object at"}, None)


def test_an_abandoned_multipart_upload_still_listed_fails_cleanup(overlay: Path) -> None:
    ctx = context(overlay, FakeBackends({}, ["uploads/a#1"]), {"MULTIPART_SWEEP_S": "0.1"})
    bound = bound_of(ctx, {"settings": {"MULTIPART_SWEEP_S": 3}})
    with pytest.raises(StepFailed, match=r"^cleanup: 1 S3 multipart upload\(s\) of a killed replica"):
        _cleaned(ctx, {"uploads/a#1", "uploads/b#2"}, bound)
    ctx.backends.multipart = []  # type: ignore[attr-defined]
    assert _cleaned(ctx, {"uploads/a#1"}, bound)["remaining"] == []
