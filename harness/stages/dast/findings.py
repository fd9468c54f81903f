"""Findings (one observed problem) and how the rules file turns them into Results.

One Result per result id: ``failed`` when an instance's rule (or its severity's default) is FAIL,
``warned`` when every kept instance is WARN/INFO, ``passed`` when the check ran and found nothing
(or every instance was dropped by an IGNORE rule with a reason). The rules file never waives:
``waived`` comes only from a governed waiver (owner, approver, reason, expiry) applied by the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.results import Result, Severity, Status
from harness.stages.dast.rules import Action, Decision, RuleSet

STAGE = "dast"
MAX_LOCATIONS_IN_MESSAGE = 8
EXCHANGE_CHARS = 700
# Writes the instances of one result as an evidence file; returns its path (relative to the run).
InstanceWriter = Callable[[str, list["Finding"]], str | None]


@dataclass(slots=True)
class Finding:
    """One instance of a problem: which rule, where, the exchange that shows it, and who was involved."""

    rule_id: str  # "10038", "schemathesis:ignored_auth", "harness:bola_read": the key into the rules file
    result_id: str  # "DAST-HDR-10038", "ZAP-10038", "ST-ignored_auth", "DAST-API1-bola-read"
    title: str
    severity: Severity
    url: str | None
    evidence: str = ""  # what was observed, in a sentence or an excerpt
    controls: list[str] = field(default_factory=list)
    remediation: str | None = None
    request: str = ""  # redacted request (tokens named by their owner)
    response: str = ""  # redacted response
    users: list[str] = field(default_factory=list)  # the test users involved (owner first)
    proven_on: str | None = None
    attachments: list[str] = field(default_factory=list)  # evidence files (e.g. sqlmap's output)

    def to_dict(self) -> dict[str, object]:
        return {
            "url": self.url,
            "users": list(self.users),
            "observed": self.evidence,
            "request": self.request,
            "response": self.response,
        }


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
    proven_on: str | None = None
    remediation: str | None = None

    def finding(self, url: str | None, *, proven_on: str | None = None, **details: Any) -> Finding:
        """An instance of this check's problem at ``url`` (``details``: the rest of :class:`Finding`)."""
        return Finding(self.rule_id, self.result_id, self.title, self.severity, url,
                       controls=list(self.controls), remediation=self.remediation,
                       proven_on=proven_on or self.proven_on, **details)


def judge(
    checks: Iterable[Check],
    findings: Iterable[Finding],
    rules: RuleSet,
    *,
    evidence: list[str] | None = None,
    write: InstanceWriter | None = None,
) -> list[Result]:
    """One Result per result id (checks that ran without a finding pass)."""
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.result_id, []).append(finding)
    ran = {check.result_id: check for check in checks}
    results = [
        _judge_group(items, rules, evidence or [], ran.get(rid), write) for rid, items in grouped.items()
    ]
    results += [_passed(check) for check in ran.values() if check.result_id not in grouped]
    return sorted(results, key=lambda r: r.id)


def _judge_group(
    items: list[Finding],
    rules: RuleSet,
    evidence: list[str],
    check: Check | None,
    write: InstanceWriter | None,
) -> Result:
    decisions = [(rules.decide(f.rule_id, f.url, f.severity), f) for f in items]
    kept = [(d, f) for d, f in decisions if d.action is not Action.IGNORE]
    worst, first = max(kept or decisions, key=lambda pair: _rank(pair[0].action))
    shown = [f for _, f in kept] or items
    urls = sorted({f.url for f in shown if f.url})
    files = [path for path in ([write(first.result_id, shown)] if write else []) if path]
    files += sorted({a for f in shown for a in f.attachments})
    return Result(
        id=first.result_id,
        stage=STAGE,
        title=first.title,
        status=_status(worst.action, bool(kept)),
        severity=first.severity,
        controls=list(first.controls),
        location=urls[0] if urls else None,
        message=_message(first, urls, worst, ignored=len(decisions) - len(kept)),
        evidence=[*evidence, *files, *(check.evidence if check else [])],
        measured={
            **(check.measured if check else {}),
            "instances": len(kept),
            "ignored_instances": len(decisions) - len(kept),
            "urls": len(urls),
        },
        remediation=first.remediation or (check.remediation if check else None),
        proven_on=first.proven_on or (check.proven_on if check else None),
    )


def _passed(check: Check) -> Result:
    result = _of(check, Status.PASSED, "no finding")
    result.measured, result.evidence = dict(check.measured), list(check.evidence)
    return result


def skipped(check: Check, why: str) -> Result:
    """A check that could not run here: skipped, with the reason (never shown as passed)."""
    return _of(check, Status.SKIPPED, why)


def _of(check: Check, status: Status, message: str) -> Result:
    return Result(id=check.result_id, stage=STAGE, title=check.title, status=status, severity=check.severity,
                  controls=list(check.controls), message=message, proven_on=check.proven_on,
                  remediation=check.remediation)


def _rank(action: Action) -> int:
    return [Action.IGNORE, Action.INFO, Action.WARN, Action.FAIL].index(action)


def _status(action: Action, kept: bool) -> Status:
    if not kept:
        return Status.PASSED  # every instance dropped by an IGNORE rule that says why
    return Status.FAILED if action.gates else Status.WARNED


def _message(first: Finding, urls: list[str], decision: Decision, *, ignored: int) -> str:
    shown = ", ".join(urls[:MAX_LOCATIONS_IN_MESSAGE])
    more = f" (+{len(urls) - MAX_LOCATIONS_IN_MESSAGE} more)" if len(urls) > MAX_LOCATIONS_IN_MESSAGE else ""
    parts = [
        f"{first.title} at {len(urls)} URL(s): {shown}{more}" if urls else first.title,
        f"rules: {decision.explanation}",
    ]
    if ignored:
        parts.append(f"{ignored} instance(s) ignored by rules that say why")
    if first.users:
        parts.append(f"users: {', '.join(first.users)}")
    if first.evidence:
        parts.append(f"evidence:\n{first.evidence}")
    if first.request:
        parts.append(f"request:\n{first.request[:EXCHANGE_CHARS]}")
    if first.response:
        parts.append(f"response:\n{first.response[:EXCHANGE_CHARS]}")
    return "\n".join(parts)


__all__ = ["STAGE", "Check", "Finding", "InstanceWriter", "judge", "skipped"]
