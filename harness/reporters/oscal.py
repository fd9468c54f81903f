"""A minimal OSCAL assessment-results document (OSCAL 1.1) for GRC tools.

One ``result`` per run: every harness result becomes an ``observation`` (with its evidence as
``relevant-evidence`` and its ``proven_on``), every control of the run record a ``finding`` whose
target state is ``satisfied`` only when the control passed; NIST SP 800-53 references become
``reviewed-controls`` ids (``AC-2(1)`` -> ``ac-2.1``). The run's verdict (the record's, never decided
here) is in the result's props. UUIDs are derived from the run id (uuid5), so re-rendering a run
yields the same document.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.reporters import write_atomic
from harness.results import ControlRecord, ControlStatus, Result, RunRecord, Status

OSCAL_VERSION = "1.1.2"
NIST_FRAMEWORK = re.compile(r"nist.*800-53", re.IGNORECASE)
_NS = uuid.UUID("6d1a3c52-0b1e-4f0e-9a57-4c1f3a8e2b10")
# OSCAL's allowed status reasons; our own status (waived, not evidenced) is in the finding's props.
_REASONS = {ControlStatus.PASSED: "pass", ControlStatus.FAILED: "fail", ControlStatus.WAIVED: "other",
            ControlStatus.WARNED: "other", ControlStatus.NOT_EVIDENCED: "other"}
_HARNESS_NS = "https://github.com/cloud-verify-harness/ns/oscal"


def assessment_results(record: RunRecord) -> dict[str, Any]:
    """The assessment-results document as a JSON-ready dict."""
    ids = _Ids(record.run_id)
    observations = [_observation(ids, i, r, record) for i, r in enumerate(record.results)]
    controls = record.controls
    result: dict[str, Any] = {
        "uuid": ids("result"),
        "title": f"Harness run {record.run_id}",
        "description": f"Automated verification on target {record.provenance.target} "
        f"(profile {record.provenance.profile}): {record.verdict.headline}, exit code {record.exit_code}.",
        "start": _timestamp(record.provenance.started_at),
        "props": [_prop("verdict", record.verdict.status.value.lower().replace(" ", "-")),
                  _prop("exit-code", str(record.exit_code))]
        + [_prop(f"count-{status}", str(n)) for status, n in record.counts().items()],
        "reviewed-controls": {"control-selections": [_selection(controls)]},
    }
    if record.provenance.finished_at:
        result["end"] = _timestamp(record.provenance.finished_at)
    if observations:
        result["observations"] = observations
    findings = [_finding(ids, c) for c in controls]
    if findings:
        result["findings"] = findings
    return {
        "assessment-results": {
            "uuid": ids("document"),
            "metadata": {
                "title": f"Verification assessment results, run {record.run_id}",
                "last-modified": _timestamp(record.provenance.finished_at or record.provenance.started_at),
                "version": record.run_id,
                "oscal-version": OSCAL_VERSION,
                "props": [_prop("git-sha", record.provenance.git_sha or "unknown"),
                          _prop("harness-version", record.provenance.harness_version)],
            },
            "import-ap": {
                "href": "#assessment-plan-not-provided",
                "remarks": "The harness configuration and the control catalog act as the plan.",
            },
            "results": [result],
        }
    }


class OscalReporter:
    """The ``oscal`` reporter slot: ``oscal-assessment-results.json`` from the run and the catalog."""

    NAME = "oscal"

    def write(self, record: RunRecord, run_dir: Path) -> Path:
        return write_oscal(record, run_dir)


def write_oscal(record: RunRecord, run_dir: Path) -> Path:
    target = run_dir / "oscal-assessment-results.json"
    return write_atomic(target, json.dumps(assessment_results(record), indent=2) + "\n")


def nist_control_id(reference: str) -> str:
    """``AC-2(1)`` -> ``ac-2.1``, the id form of OSCAL's NIST SP 800-53 catalog."""
    base, *enhancements = re.split(r"[()]+", reference.strip().lower().replace(" ", ""))
    return ".".join([base, *[e for e in enhancements if e]])


class _Ids:
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def __call__(self, *parts: object) -> str:
        return str(uuid.uuid5(_NS, "/".join([self.run_id, *map(str, parts)])))


def _observation(ids: _Ids, index: int, result: Result, record: RunRecord) -> dict[str, Any]:
    observation: dict[str, Any] = {
        "uuid": ids("observation", index),
        "title": f"{result.id}: {result.title}",
        "description": result.message or result.title,
        "props": [
            _prop("result-id", result.id),
            _prop("status", result.status.value),
            _prop("severity", result.severity.value),
            _prop("stage", result.stage),
            _prop("kind", result.kind.value),
            _prop("proven-on", result.proven_on or "not recorded"),
        ],
        "methods": ["TEST"],
        "types": ["finding" if result.status in (Status.FAILED, Status.ERROR) else "control-objective"],
        "collected": _timestamp(record.provenance.finished_at or record.provenance.started_at),
    }
    evidence = [{"href": path, "description": f"evidence for {result.id}"} for path in result.evidence]
    if evidence:
        observation["relevant-evidence"] = evidence
    if result.location:
        observation["remarks"] = f"Location: {result.location}"
    return observation


def _nist_ids(control: ControlRecord) -> list[str]:
    """The control's NIST SP 800-53 references, as OSCAL control ids."""
    return [nist_control_id(ref) for name, refs in control.frameworks.items() if NIST_FRAMEWORK.search(name)
            for ref in refs]


def _finding(ids: _Ids, control: ControlRecord) -> dict[str, Any]:
    nist = _nist_ids(control)
    state = "satisfied" if control.status is ControlStatus.PASSED else "not-satisfied"
    on = "; ".join(control.proven_on) or "nothing"
    finding: dict[str, Any] = {
        "uuid": ids("finding", control.id),
        "title": f"{control.id}: {control.title}",
        "description": f"Control {control.id} is {control.status.value} in this run (proven on: {on}"
        + (", a model only" if control.model_only else "") + ").",
        "props": [_prop("control-id", control.id),
                  _prop("control-status", control.status.value.replace(" ", "-")),
                  _prop("model-only", str(control.model_only).lower())],
        "target": {
            "type": "objective-id",
            "target-id": f"{nist[0]}_obj" if nist else control.id,
            "status": {"state": state, "reason": _REASONS[control.status]},
        },
    }
    if control.evidence:
        finding["related-observations"] = [{"observation-uuid": ids("observation", i)}
                                           for i in control.evidence]
    return finding


def _selection(controls: Sequence[ControlRecord]) -> dict[str, Any]:
    nist = sorted({control_id for control in controls for control_id in _nist_ids(control)})
    if not nist:
        return {"description": "No NIST SP 800-53 mapping in the control catalog.", "include-all": {}}
    return {"include-controls": [{"control-id": control_id} for control_id in nist]}


def _prop(name: str, value: str) -> dict[str, str]:
    return {"name": name, "ns": _HARNESS_NS, "value": value}


def _timestamp(value: str) -> str:
    """OSCAL wants date-times with a timezone; the harness writes ISO 8601 (UTC when naive)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = datetime.now(UTC)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.isoformat().replace("+00:00", "Z")


__all__ = ["OSCAL_VERSION", "OscalReporter", "assessment_results", "nist_control_id", "write_oscal"]
