"""The results model: the only thing reporters read.

A stage turns its work into :class:`Result` objects; a run collects them in a :class:`RunRecord`
together with provenance. ``results.json`` is ``RunRecord.to_dict()`` and is described by the
versioned JSON Schema in ``harness/schemas/results.schema.json``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = "1.1"


class Status(enum.StrEnum):
    """Outcome of one check. ``error`` = the harness or a tool broke; ``failed`` = the system did.

    ``waived`` only under a governed waiver (owner, approver, reason, expiry); ``warned`` is a
    non-gating finding, counted apart and shown as such (never as passed or waived).
    """

    PASSED = "passed"
    FAILED = "failed"
    WAIVED = "waived"
    WARNED = "warned"
    SKIPPED = "skipped"
    ERROR = "error"


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


@dataclass(slots=True)
class Result:
    """One check's outcome, e.g. ``CKV_AWS_18`` on one resource or ``SCN-upload-png``."""

    id: str
    stage: str
    title: str
    status: Status
    severity: Severity = Severity.MEDIUM
    controls: list[str] = field(default_factory=list)
    location: str | None = None
    message: str = ""
    evidence: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    measured: dict[str, float | int | str] = field(default_factory=dict)
    remediation: str | None = None
    waiver: dict[str, str] | None = None
    # What actually produced the evidence: a tool and its version ("checkov 3.3.30"), a real cluster
    # ("kind v0.25 / Kubernetes 1.31") or a model ("local model of the Kubernetes HPA v2 algorithm").
    proven_on: str | None = None

    def __post_init__(self) -> None:
        if self.status is Status.SKIPPED and not self.message:
            raise ValueError(f"skipped result {self.id!r} must say why (message is empty)")

    @property
    def is_gate_failure(self) -> bool:
        """Whether this result makes the run fail (exit code 1)."""
        return self.status is Status.FAILED

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "stage": self.stage,
            "title": self.title,
            "status": self.status.value,
            "severity": self.severity.value,
            "controls": list(self.controls),
            "location": self.location,
            "message": self.message,
            "evidence": list(self.evidence),
            "duration_s": round(self.duration_s, 6),
            "measured": dict(self.measured),
            "remediation": self.remediation,
            "waiver": self.waiver,
            "proven_on": self.proven_on,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        return cls(
            id=data["id"],
            stage=data["stage"],
            title=data["title"],
            status=Status(data["status"]),
            severity=Severity(data.get("severity", "medium")),
            controls=list(data.get("controls", [])),
            location=data.get("location"),
            message=data.get("message", ""),
            evidence=list(data.get("evidence", [])),
            duration_s=float(data.get("duration_s", 0.0)),
            measured=dict(data.get("measured", {})),
            remediation=data.get("remediation"),
            waiver=data.get("waiver"),
            proven_on=data.get("proven_on"),
        )


@dataclass(slots=True)
class StageSummary:
    """How one stage ran: its status (passed/failed/skipped/error), why, and how long it took."""

    name: str
    status: Status
    message: str = ""
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "message": self.message,
            "duration_s": round(self.duration_s, 6),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageSummary:
        return cls(
            name=data["name"],
            status=Status(data["status"]),
            message=data.get("message", ""),
            duration_s=float(data.get("duration_s", 0.0)),
        )


@dataclass(slots=True)
class Provenance:
    """Where and how a run happened, for reviewers."""

    git_sha: str | None
    target: str
    profile: str
    harness_version: str
    tool_versions: dict[str, str]
    started_at: str
    finished_at: str | None
    host: str
    user: str | None = None
    root: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "git_sha": self.git_sha,
            "target": self.target,
            "profile": self.profile,
            "harness_version": self.harness_version,
            "tool_versions": dict(self.tool_versions),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "host": self.host,
            "user": self.user,
            "root": self.root,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Provenance:
        return cls(
            git_sha=data.get("git_sha"),
            target=data["target"],
            profile=data["profile"],
            harness_version=data["harness_version"],
            tool_versions=dict(data.get("tool_versions", {})),
            started_at=data["started_at"],
            finished_at=data.get("finished_at"),
            host=data["host"],
            user=data.get("user"),
            root=data.get("root"),
        )


@dataclass(slots=True)
class RunRecord:
    """Everything one run produced: provenance, per-stage summaries and all results."""

    run_id: str
    provenance: Provenance
    stages: list[StageSummary] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    schema_version: str = SCHEMA_VERSION

    @property
    def exit_code(self) -> int:
        """0 all gates pass; 1 a gate failed; 2 the harness or a tool broke."""
        if any(r.status is Status.ERROR for r in self.results) or any(
            s.status is Status.ERROR for s in self.stages
        ):
            return 2
        return 1 if any(r.is_gate_failure for r in self.results) else 0

    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Status}
        for result in self.results:
            counts[result.status.value] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "run_id": self.run_id,
            "provenance": self.provenance.to_dict(),
            "stages": [s.to_dict() for s in self.stages],
            "counts": self.counts(),
            "exit_code": self.exit_code,
            "results": [r.to_dict() for r in self.results],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        return cls(
            run_id=data["run_id"],
            provenance=Provenance.from_dict(data["provenance"]),
            stages=[StageSummary.from_dict(s) for s in data.get("stages", [])],
            results=[Result.from_dict(r) for r in data.get("results", [])],
            schema_version=data.get("schema_version", SCHEMA_VERSION),
        )


__all__ = [
    "SCHEMA_VERSION",
    "Provenance",
    "Result",
    "RunRecord",
    "Severity",
    "StageSummary",
    "Status",
]
