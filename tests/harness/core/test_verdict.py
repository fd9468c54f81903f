"""The one verdict: decided once from the record; nothing verified is never exit 0; tool summaries,
warned findings, gaps and models are told apart (issue 12)."""

from __future__ import annotations

import pytest

from harness.results import (
    ControlRecord,
    ControlStatus,
    Outcome,
    Result,
    ResultKind,
    RunRecord,
    StageSummary,
    Status,
)
from harness.verdict import summarize
from tests.harness.core.conftest import make_record

P, F, E, K, W, WA = Status.PASSED, Status.FAILED, Status.ERROR, Status.SKIPPED, Status.WARNED, Status.WAIVED
MODEL = "local model of the Kubernetes HPA v2 algorithm"


def check(status: Status, rid: str = "C-1", **kw: object) -> Result:
    message = "why" if status is K else ""
    return Result(rid, "policy", "a check", status, message=message, **kw)  # type: ignore[arg-type]


def summary(status: Status) -> Result:
    return Result("DAST-zap", "dast", "ZAP scan", status, kind=ResultKind.SUMMARY, message="12 alerts")


def record(results: list[Result], stages: list[StageSummary] | None = None,
           controls: list[ControlRecord] | None = None) -> RunRecord:
    return make_record(results=results, stages_=stages or []).revised(controls=controls or [])


@pytest.mark.parametrize(("results", "stages", "expected"), [
    ([check(P)], [], Outcome.PASSED),
    ([check(P), check(F)], [], Outcome.FAILED),
    ([check(P), check(F), check(E)], [], Outcome.ERROR),
    ([check(P)], [StageSummary("load", E, "crashed")], Outcome.ERROR),
    ([], [], Outcome.NOTHING_VERIFIED),
    ([check(K)], [StageSummary("policy", K, "every check was skipped")], Outcome.NOTHING_VERIFIED),
    ([summary(P)], [], Outcome.NOTHING_VERIFIED),  # a tool summary proves nothing
    ([check(P), summary(F)], [], Outcome.FAILED),  # ... but a failed or broken tool is never hidden
    ([check(P), summary(E)], [], Outcome.ERROR),
    ([check(P), check(K)], [], Outcome.PASSED_WITH_GAPS),
    ([check(P), check(W)], [], Outcome.PASSED_WITH_GAPS),
    ([check(W)], [], Outcome.PASSED_WITH_GAPS),  # the check ran and answered: verified, with a gap
    ([check(P)], [StageSummary("dast", K, "ZAP not reachable")], Outcome.PASSED_WITH_GAPS),
    ([check(P), check(WA, waiver={"owner": "o"})], [], Outcome.PASSED),
])
def test_verdict_table(results: list[Result], stages: list[StageSummary], expected: Outcome) -> None:
    verdict = record(results, stages).verdict
    assert verdict.status is expected
    codes = {Outcome.PASSED: 0, Outcome.PASSED_WITH_GAPS: 0, Outcome.FAILED: 1}
    assert verdict.exit_code == codes.get(expected, 2)


def test_nothing_verified_never_exits_0() -> None:
    """The old behaviour: a run whose stages were all skipped ended NOTHING VERIFIED with exit 0."""
    stages = [StageSummary(s, K, "target 'kind' is not built yet") for s in ("functional", "load")]
    skipped = record([], stages)
    assert (skipped.verdict.status, skipped.exit_code) == (Outcome.NOTHING_VERIFIED, 2)


def test_not_evidenced_and_model_only_controls_are_gaps() -> None:
    results = [check(P, "SLO-1", proven_on=MODEL), check(P, "CKV-1", proven_on="checkov 3.3.30")]
    controls = [
        ControlRecord("PERF-01", "SLOs hold", "high", ControlStatus.PASSED, evidence=[0], proven_on=[MODEL],
                      model_only=True),
        ControlRecord("ENC-01", "encrypted", "high", ControlStatus.PASSED, evidence=[1],
                      proven_on=["checkov 3.3.30"]),
        ControlRecord("UI-01", "page works", "low", ControlStatus.NOT_EVIDENCED),
    ]
    verdict = record(results, controls=controls).verdict
    assert verdict.status is Outcome.PASSED_WITH_GAPS
    assert {g.kind: g.ids for g in verdict.gaps} == {"not evidenced": ["UI-01"], "model only": ["PERF-01"]}
    assert "rest only on a model" in verdict.headline


def test_the_stored_verdict_is_shown_not_decided_again() -> None:
    first = record([check(P), check(K)])
    data = first.to_dict()
    data["verdict"]["reasons"] = ["as recorded by the run"]
    assert RunRecord.from_dict(data).verdict.reasons == ["as recorded by the run"]
    del data["verdict"]  # a results.json older than schema 1.2 gets its verdict decided on reading
    assert RunRecord.from_dict(data).verdict.status is Outcome.PASSED_WITH_GAPS


def test_counts_keep_tool_summaries_apart() -> None:
    counts = record([check(P), summary(P), summary(E)]).counts()
    assert (counts["passed"], counts["error"], counts["summaries"]) == (1, 0, 2)


def test_a_stage_with_only_tool_summaries_ran_no_checks() -> None:
    assert summarize("dast", [summary(P)]).status is Status.SKIPPED
    assert summarize("dast", [summary(E), check(P)]).status is Status.ERROR
    assert summarize("dast", [check(W)]).status is Status.PASSED
