"""``results.sarif``: SARIF 2.1.0 for code-scanning views (e.g. GitHub's).

Findings only: failed results (level from severity), warned ones (level ``note``, non-gating) and
waived ones (as suppressed results with the waiver's justification); each carries its ``status`` and
``proven_on`` in its properties. Errors of the harness or a tool become tool execution
notifications and mark the invocation unsuccessful; passed and skipped checks are counted in the
run's properties, next to the run's verdict (the record's, never decided here).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from harness.reporters import write_atomic
from harness.results import Outcome, Result, RunRecord, Severity, Status

FILENAME = "results.sarif"
SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TOOL_NAME = "cloud-verify-harness"
LEVELS = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
          Severity.LOW: "note", Severity.INFO: "note"}
# GitHub reads "security-severity" (0.0-10.0) to rank security findings.
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
                     Severity.LOW: "3.0", Severity.INFO: "0.0"}
FINDINGS = (Status.FAILED, Status.WARNED, Status.WAIVED)
_FILE_LINE = re.compile(r"^(?P<path>[^:]+?)(?::(?P<line>\d+))?(?::(?P<column>\d+))?$")


def _location(where: str) -> dict[str, Any]:
    if "://" in where:
        return {"physicalLocation": {"artifactLocation": {"uri": where}}}
    match = _FILE_LINE.match(where)
    if match is None:
        return {"logicalLocations": [{"fullyQualifiedName": where}]}
    path = match["path"]
    artifact = ({"uri": Path(path).as_uri()} if path.startswith("/")
                else {"uri": path.removeprefix("./"), "uriBaseId": "%SRCROOT%"})
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if match["line"] and int(match["line"]) > 0:
        physical["region"] = {"startLine": int(match["line"])}
        if match["column"] and int(match["column"]) > 0:
            physical["region"]["startColumn"] = int(match["column"])
    return {"physicalLocation": physical}


def _rule(result: Result) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": result.id,
        "shortDescription": {"text": result.title or result.id},
        "defaultConfiguration": {"level": LEVELS[result.severity]},
        "properties": {"tags": [result.stage, *result.controls],
                       "security-severity": SECURITY_SEVERITY[result.severity]},
    }
    if result.remediation:
        rule["help"] = {"text": result.remediation}
    return rule


def _result(result: Result, rule_index: int) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "ruleId": result.id,
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": "note" if result.status is Status.WARNED else LEVELS[result.severity],
        "message": {"text": result.message or result.title or result.id},
        "properties": {"stage": result.stage, "status": result.status.value,
                       "severity": result.severity.value,
                       "proven_on": result.proven_on or "not recorded", "controls": list(result.controls),
                       "evidence": list(result.evidence)},
    }
    if result.location:
        entry["locations"] = [_location(result.location)]
    if result.status is Status.WAIVED:
        reason = (result.waiver or {}).get("reason") or result.message or "waived"
        entry["suppressions"] = [{"kind": "external", "status": "accepted", "justification": reason}]
    return entry


def _notifications(record: RunRecord) -> list[dict[str, Any]]:
    notes = [{"level": "error", "message": {"text": f"{r.id}: {r.message or r.title}"},
              "descriptor": {"id": r.id}} for r in record.results if r.status is Status.ERROR]
    notes += [{"level": "error", "message": {"text": f"stage {s.name}: {s.message or 'error'}"}}
              for s in record.stages if s.status is Status.ERROR]
    return notes


def _invocation(record: RunRecord) -> dict[str, Any]:
    invocation: dict[str, Any] = {
        "executionSuccessful": record.verdict.status is not Outcome.ERROR,
        "exitCode": record.exit_code,
        "startTimeUtc": record.provenance.started_at,
        "machine": record.provenance.host,
        "toolExecutionNotifications": _notifications(record),
    }
    if record.provenance.finished_at:
        invocation["endTimeUtc"] = record.provenance.finished_at
    return invocation


def build(record: RunRecord) -> dict[str, Any]:
    """The SARIF log as a dict (see :func:`render`)."""
    findings = [r for r in record.results if r.status in FINDINGS and (r.is_evidence or r.is_gate_failure)]
    rules: dict[str, dict[str, Any]] = {}
    for result in findings:
        rules.setdefault(result.id, _rule(result))
    index = {rule_id: n for n, rule_id in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {"driver": {"name": TOOL_NAME, "version": record.provenance.harness_version,
                            "rules": list(rules.values())}},
        "invocations": [_invocation(record)],
        "results": [_result(r, index[r.id]) for r in findings],
        "automationDetails": {"id": f"harness/{record.provenance.target}/{record.run_id}"},
        "properties": {"runId": record.run_id, "gitSha": record.provenance.git_sha,
                       "counts": record.counts(), "profile": record.provenance.profile,
                       "verdict": record.verdict.to_dict()},
    }
    if record.provenance.root:
        run["originalUriBaseIds"] = {"%SRCROOT%": {"uri": Path(record.provenance.root).as_uri() + "/"}}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(record: RunRecord) -> str:
    return json.dumps(build(record), indent=2, ensure_ascii=False) + "\n"


class SarifReporter:
    """Writes ``results.sarif`` (SARIF 2.1.0)."""

    NAME = "sarif"

    def write(self, record: RunRecord, run_dir: Path) -> list[Path]:
        return [write_atomic(run_dir / FILENAME, render(record))]


__all__ = ["FILENAME", "SarifReporter", "build", "render"]
