"""The run's one verdict, decided once from the record (pure): :func:`decide`.

Every output (terminal, summary.md, index.html, JUnit, SARIF, OSCAL, the exit code) shows
``RunRecord.verdict``; none decides again. The rules, in order:

* ``ERROR`` (exit 2): a result or a stage errored: the harness or a tool broke, the run is incomplete.
* ``FAILED`` (exit 1): a result failed (a tool summary that failed counts too: nothing bad hides).
* ``NOTHING VERIFIED`` (exit 2): no *check* ran to completion (passed, waived or warned); a run
  whose stages were all skipped, or that holds only tool summaries, proves nothing.
* ``PASSED WITH GAPS`` (exit 0): passed, but something is not covered: a stage was skipped, checks
  were skipped, a catalogued control is not evidenced, a finding was warned, or a control rests
  only on a model (``proven_on`` starting with "local model").
* ``PASSED`` (exit 0): every check that ran passed (or is under a governed waiver) and nothing is
  missing.
"""

from __future__ import annotations

from collections import Counter

from harness.results import (
    SEVERITIES,
    ControlStatus,
    Gap,
    Outcome,
    Result,
    RunRecord,
    StageSummary,
    Status,
    Verdict,
)


def decide(record: RunRecord) -> Verdict:
    """The verdict of ``record`` (its stages, results and assessed controls)."""
    results = record.results
    checks = [r for r in results if r.is_evidence]
    reasons = _problems(record)
    gaps = gaps_of(record)
    if any(r.status is Status.ERROR for r in results) or any(s.status is Status.ERROR for s in record.stages):
        status = Outcome.ERROR
    elif any(r.status is Status.FAILED for r in results):
        status = Outcome.FAILED
    elif not any(r.status in (Status.PASSED, Status.WAIVED, Status.WARNED) for r in checks):
        status = Outcome.NOTHING_VERIFIED
        reasons.append("no check ran to completion: this run proves nothing")
    else:
        status = Outcome.PASSED_WITH_GAPS if gaps else Outcome.PASSED
        passed = sum(r.status is Status.PASSED for r in checks)
        complete = "" if gaps else "; every catalogued control is evidenced"
        reasons.append(f"{passed} check(s) passed{complete}")
    waived = sum(r.status is Status.WAIVED for r in checks)
    if waived:
        reasons.append(f"{waived} result(s) waived under governed waivers (owner, approver, expiry)")
    return Verdict(status, reasons, gaps)


def _problems(record: RunRecord) -> list[str]:
    reasons = []
    errors = [r for r in record.results if r.status is Status.ERROR]
    broken = [s.name for s in record.stages if s.status is Status.ERROR]
    if errors or broken:
        stages = f"; stage(s) in error: {', '.join(broken)}" if broken else ""
        reasons.append(f"{len(errors)} result(s) errored{stages}: the harness or a tool broke, "
                       "so the run is incomplete")
    failed = [r for r in record.results if r.status is Status.FAILED]
    if failed:
        breakdown = severity_breakdown(failed)
        reasons.append(f"{len(failed)} result(s) failed ({breakdown}): the system broke a rule")
    return reasons


def severity_breakdown(results: list[Result]) -> str:
    """``"2 critical, 1 high"``: counts by severity, most severe first."""
    by_severity = Counter(r.severity.value for r in results)
    return ", ".join(f"{by_severity[s]} {s}" for s in SEVERITIES if by_severity[s])


def gaps_of(record: RunRecord) -> list[Gap]:
    """What a passing verdict would not cover, in :data:`~harness.results.GAP_KINDS` order."""
    gaps = [Gap("stage skipped", f"stage {s.name} skipped: {s.message}", [s.name])
            for s in record.stages if s.status is Status.SKIPPED]
    checks = [r for r in record.results if r.is_evidence]
    skipped = [r.id for r in checks if r.status is Status.SKIPPED]
    if skipped:
        gaps.append(Gap("skipped", f"{len(skipped)} check(s) skipped", _unique(skipped)))
    missing = [c.id for c in record.controls if c.status is ControlStatus.NOT_EVIDENCED]
    if missing:
        gaps.append(Gap("not evidenced", f"{len(missing)} control(s) not evidenced: {', '.join(missing)}",
                        missing))
    warned = [r.id for r in checks if r.status is Status.WARNED]
    if warned:
        gaps.append(Gap("warned", f"{len(warned)} finding(s) warned (not gating)", _unique(warned)))
    modelled = [c.id for c in record.controls if c.model_only and c.status is not ControlStatus.NOT_EVIDENCED]
    if modelled:
        gaps.append(Gap("model only", f"{len(modelled)} control(s) rest only on a model, not a real "
                        f"platform: {', '.join(modelled)}", modelled))
    return gaps


def summarize(name: str, results: list[Result]) -> StageSummary:
    """A stage's status from its results: error > failed > passed (a check passed, waived or
    warned) > skipped. Tool summaries gate when they errored or failed, and are never a pass."""
    statuses = {r.status for r in results}
    checks = {r.status for r in results if r.is_evidence}
    counts = ", ".join(f"{sum(r.status is s and r.is_evidence for r in results)} {s.value}"
                       for s in Status if s in checks)
    summaries = sum(not r.is_evidence for r in results)
    if summaries:
        counts += f"{', ' if counts else ''}{summaries} tool summar{'y' if summaries == 1 else 'ies'}"
    for status in (Status.ERROR, Status.FAILED):
        if status in statuses:
            return StageSummary(name, status, counts)
    if checks & {Status.PASSED, Status.WAIVED, Status.WARNED}:
        return StageSummary(name, Status.PASSED, counts)
    if not checks:
        ran = "the stage ran no checks" + (f" ({counts})" if counts else "")
        return StageSummary(name, Status.SKIPPED, ran)
    return StageSummary(name, Status.SKIPPED, f"every check was skipped ({counts})")


def stage_summaries(record: RunRecord) -> list[StageSummary]:
    """Every stage of the record, in run order: the recorded summaries, then (for results whose stage
    has none, e.g. a hand-assembled record) :func:`summarize` of their results. Reporters show these
    and never decide a stage's status themselves."""
    recorded = {s.name for s in record.stages}
    extra = dict.fromkeys(r.stage for r in record.results if r.stage not in recorded)
    return list(record.stages) + [
        _unrecorded(summarize(name, [r for r in record.results if r.stage == name])) for name in extra]


def _unrecorded(summary: StageSummary) -> StageSummary:
    message = f"no stage summary recorded; from its results: {summary.message}"
    return StageSummary(summary.name, summary.status, message)


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


__all__ = ["decide", "gaps_of", "severity_breakdown", "stage_summaries", "summarize"]
