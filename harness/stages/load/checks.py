"""The load stage's result helpers and the data-loss verdict (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.results import Result, ResultKind, Severity, Status


def load_result(rid: str, title: str, status: Status, message: str, evidence: Sequence[str] = (), *,
                measured: Mapping[str, Any] | None = None, severity: Severity = Severity.HIGH,
                proven_on: str | None = None, location: str | None = None,
                controls: Sequence[str] = (), kind: ResultKind = ResultKind.CHECK) -> Result:
    """A result of the load stage (every helper below, and the stage's own skips and errors)."""
    return Result(id=rid, stage="load", title=title, status=status, severity=severity, message=message,
                  evidence=list(evidence), measured=dict(measured or {}), proven_on=proven_on,
                  location=location, controls=list(controls), kind=kind)


def result(rid: str, title: str, ok: bool, message: str, measured: Mapping[str, Any], evidence: Sequence[str],
           severity: Severity = Severity.HIGH, proven_on: str | None = None) -> Result:
    """A passed/failed load result."""
    return load_result(rid, title, Status.PASSED if ok else Status.FAILED, message, evidence,
                       measured=measured, severity=severity, proven_on=proven_on)


def error_result(rid: str, title: str, message: str, evidence: Sequence[str],
                 measured: Mapping[str, Any] | None = None, severity: Severity = Severity.HIGH) -> Result:
    """An ``error`` load result: the stage could not show the behaviour either way (message says why)."""
    return load_result(rid, title, Status.ERROR, message, evidence, measured=measured, severity=severity)


def data_loss_result(
    rid: str, accepted: int, processed: int, rows: int, how: str, evidence: Sequence[str] = ()
) -> Result:
    """Every upload the API accepted (Locust's record) is processed (the API says so) and stored
    (rows counted in PostgreSQL). Fails on any difference, or when nothing was accepted."""
    ok = accepted == processed == rows and accepted > 0
    return result(
        rid,
        "No data loss under load: accepted == processed == stored",
        ok,
        f"accepted {accepted}, processed {processed}, rows {rows} ({how})",
        {"accepted": accepted, "processed": processed, "rows": rows},
        evidence,
        Severity.CRITICAL,
    )


__all__ = ["data_loss_result", "error_result", "load_result", "result"]
