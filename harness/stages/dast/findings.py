"""Findings (one observed problem) and how the rules file turns them into Results."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from harness.results import Result, Severity, Status
from harness.stages.dast.rules import Action, Decision, RuleSet

STAGE = "dast"
MAX_LOCATIONS_IN_MESSAGE = 8


@dataclass(slots=True)
class Finding:
    """One instance of a problem: which rule, where, and a redacted excerpt proving it."""

    rule_id: str  # "10038" or "schemathesis:ignored_auth": the key into the rules file
    result_id: str  # "DAST-HDR-10038", "ZAP-10038", "ST-ignored_auth"
    title: str
    severity: Severity
    url: str | None
    evidence: str = ""
    controls: list[str] = field(default_factory=list)
    remediation: str | None = None


@dataclass(slots=True)
class Check:
    """A check that ran, so that a clean run is recorded as passed (evidence), not as silence."""

    rule_id: str
    result_id: str
    title: str
    severity: Severity
    controls: list[str]
    measured: dict[str, float | int | str] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)


def judge(checks: Iterable[Check], findings: Iterable[Finding], rules: RuleSet,
          *, evidence: list[str] | None = None) -> list[Result]:
    """One Result per result id: failed/waived by the rules file, passed when nothing was found."""
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.result_id, []).append(finding)
    results = [_judge_group(items, rules, evidence or []) for items in grouped.values()]
    results += [_passed(check) for check in checks if check.result_id not in grouped]
    return sorted(results, key=lambda r: r.id)


def _judge_group(items: list[Finding], rules: RuleSet, evidence: list[str]) -> Result:
    decisions = [(rules.decide(f.rule_id, f.url), f) for f in items]
    kept = [(d, f) for d, f in decisions if d.action is not Action.IGNORE]
    worst_decision, first = max(kept or decisions, key=lambda pair: _rank(pair[0].action))
    urls = sorted({f.url for _, f in (kept or decisions) if f.url})
    result = Result(
        id=first.result_id, stage=STAGE, title=first.title, status=_status(worst_decision.action),
        severity=first.severity, controls=list(first.controls), location=urls[0] if urls else None,
        message=_message(first, urls, worst_decision, ignored=len(decisions) - len(kept)),
        evidence=list(evidence),
        measured={"instances": len(kept), "ignored_instances": len(decisions) - len(kept), "urls": len(urls)},
        remediation=first.remediation,
    )
    if result.status is Status.WAIVED:
        result.waiver = _waiver(worst_decision)
    return result


def _passed(check: Check) -> Result:
    return Result(id=check.result_id, stage=STAGE, title=check.title, status=Status.PASSED,
                  severity=check.severity, controls=list(check.controls), measured=dict(check.measured),
                  evidence=list(check.evidence), message="no finding")


def _rank(action: Action) -> int:
    return [Action.IGNORE, Action.INFO, Action.WARN, Action.FAIL].index(action)


def _status(action: Action) -> Status:
    return Status.FAILED if action.gates else Status.WAIVED


def _waiver(decision: Decision) -> dict[str, str]:
    source = decision.rule.source if decision.rule else "default action"
    reason = decision.rule.reason if decision.rule and decision.rule.reason else ""
    return {"reason": reason or f"{decision.action.value}: reported, not gating", "source": source,
            "action": decision.action.value}


def _message(first: Finding, urls: list[str], decision: Decision, *, ignored: int) -> str:
    shown = ", ".join(urls[:MAX_LOCATIONS_IN_MESSAGE])
    more = f" (+{len(urls) - MAX_LOCATIONS_IN_MESSAGE} more)" if len(urls) > MAX_LOCATIONS_IN_MESSAGE else ""
    parts = [f"{first.title} at {len(urls)} URL(s): {shown}{more}" if urls else first.title,
             f"rules: {decision.explanation}"]
    if ignored:
        parts.append(f"{ignored} instance(s) ignored by URL-specific rules")
    if first.evidence:
        parts.append(f"evidence:\n{first.evidence}")
    return "\n".join(parts)


__all__ = ["STAGE", "Check", "Finding", "judge"]
