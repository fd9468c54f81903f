"""The results model: the only thing reporters read.

A stage turns its work into :class:`Result` objects; a run collects them in a :class:`RunRecord`
together with provenance, the controls they evidence, the waivers in force and the run's one
:class:`Verdict` (decided by :func:`harness.verdict.decide`, never by a reporter). ``results.json``
is ``RunRecord.to_dict()`` and is described by the versioned JSON Schema in
``harness/schemas/results.schema.json``.

A result is either a *check* (evidence: it passed or failed a rule) or a *tool summary*
(``kind=ResultKind.SUMMARY``: what a tool did, e.g. "Schemathesis sent 412 requests"). A summary is
shown apart and is never evidence: it does not count as passed, cannot make a run verified and
evidences no control. Its ``error``/``failed`` still gate, so a broken tool is never hidden::

    Result("DAST-schemathesis", "dast", "Schemathesis run", Status.PASSED, kind=ResultKind.SUMMARY,
           measured={"requests": 412}, proven_on="Schemathesis 4.1.0")
"""

from __future__ import annotations

import copy
import enum
import json
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from harness.errors import ReportError

SCHEMA_VERSION = "1.2"
# ``proven_on`` values that name a model of someone else's behaviour rather than the real thing.
MODEL_PREFIX = "local model"


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


class ResultKind(enum.StrEnum):
    """``check``: evidence for or against a rule. ``summary``: what a tool did; never evidence."""

    CHECK = "check"
    SUMMARY = "summary"


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


SEVERITIES = tuple(s.value for s in Severity)  # most severe first


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
    kind: ResultKind = ResultKind.CHECK

    def __post_init__(self) -> None:
        if self.status is Status.SKIPPED and not self.message:
            raise ValueError(f"skipped result {self.id!r} must say why (message is empty)")

    @property
    def is_gate_failure(self) -> bool:
        """Whether this result makes the run fail (exit code 1)."""
        return self.status is Status.FAILED

    @property
    def is_evidence(self) -> bool:
        """Whether this result is a check (a tool summary never evidences anything)."""
        return self.kind is ResultKind.CHECK

    @property
    def on_model(self) -> bool:
        """Whether the evidence came from a model rather than the real engine or platform."""
        return is_model(self.proven_on)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status.value, "severity": self.severity.value,
                "duration_s": round(self.duration_s, 6), "kind": self.kind.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        return cls(**{**_known_fields(cls, data), "status": Status(data["status"]),
                      "severity": Severity(data.get("severity", "medium")),
                      "duration_s": float(data.get("duration_s", 0.0)),
                      "kind": ResultKind(data.get("kind", "check"))})


def problem_rank(result: Result) -> tuple[bool, int]:
    """Sort key of problems: errors first (the run is incomplete), then failures by severity; a
    stable sort keeps run order within each."""
    return result.status is not Status.ERROR, SEVERITIES.index(result.severity.value)


def _known_fields(cls: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``data`` that are fields of ``cls``, each copied (a record never shares a list
    or a mapping with the JSON it was read from); absent ones keep the field's default."""
    return {f.name: copy.copy(data[f.name]) for f in fields(cls) if f.name in data}


def is_model(proven_on: str | None) -> bool:
    """``proven_on`` names a model (e.g. "local model of the Kubernetes HPA v2 algorithm")."""
    return bool(proven_on) and str(proven_on).lower().startswith(MODEL_PREFIX)


@dataclass(slots=True)
class StageSummary:
    """How one stage ran: its status (passed/failed/skipped/error), why, and how long it took."""

    name: str
    status: Status
    message: str = ""
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status.value, "duration_s": round(self.duration_s, 6)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageSummary:
        return cls(**{**_known_fields(cls, data), "status": Status(data["status"]),
                      "duration_s": float(data.get("duration_s", 0.0))})


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

    def run_date(self) -> date:
        """The day the run started (UTC): waivers are judged as of the run, whenever it is re-rendered."""
        try:
            return datetime.fromisoformat(self.started_at).date()
        except ValueError:
            return datetime.now(UTC).date()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Provenance:
        return cls(**{"git_sha": None, "finished_at": None, **_known_fields(cls, data)})


class ControlStatus(enum.StrEnum):
    """A catalog control in one run: ``not evidenced`` is never shown as passed."""

    PASSED = "passed"
    FAILED = "failed"
    WAIVED = "waived"
    WARNED = "warned"
    NOT_EVIDENCED = "not evidenced"


@dataclass(slots=True)
class ControlRecord:
    """A catalog control as this run judged it: its status, which results evidence it (indices
    into ``RunRecord.results``) and what produced that evidence (``proven_on``)."""

    id: str
    title: str
    severity: str
    status: ControlStatus
    frameworks: dict[str, list[str]] = field(default_factory=dict)
    rationale: str = ""
    evidence: list[int] = field(default_factory=list)
    proven_on: list[str] = field(default_factory=list)
    model_only: bool = False  # every piece of evidence came from a model, none from the real thing

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ControlRecord:
        return cls(**{"title": data["id"], "severity": "medium", **_known_fields(cls, data),
                      "status": ControlStatus(data["status"]),
                      "model_only": bool(data.get("model_only", False))})


@dataclass(slots=True)
class WaiverRecord:
    """A governed waiver in force for the run (``state``: active | expiring | expired, as of the run)."""

    id: str
    resource: str
    reason: str
    owner: str
    approved_by: str
    expires: str
    entry: str
    state: str
    used: int = 0
    days_left: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WaiverRecord:
        text = {k: str(data.get(k) or "") for k in ("id", "resource", "reason", "owner", "approved_by",
                                                     "expires", "entry", "state")}
        return cls(**text, used=int(data.get("used", 0)), days_left=data.get("days_left"))


class Outcome(enum.StrEnum):
    """The run's verdict. Only PASSED and PASSED WITH GAPS exit 0; NOTHING VERIFIED never does."""

    PASSED = "PASSED"
    PASSED_WITH_GAPS = "PASSED WITH GAPS"
    FAILED = "FAILED"
    ERROR = "ERROR"
    NOTHING_VERIFIED = "NOTHING VERIFIED"

    @property
    def exit_code(self) -> int:
        """0 passed (with or without gaps); 1 a gate failed; 2 no verdict (broke, or nothing verified)."""
        return {"FAILED": 1, "ERROR": 2, "NOTHING VERIFIED": 2}.get(self.value, 0)


@dataclass(slots=True)
class Gap:
    """Something the verdict does not cover: ``kind`` is one of :data:`GAP_KINDS`."""

    kind: str
    message: str
    ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Gap:
        return cls(**_known_fields(cls, data))


GAP_KINDS = ("stage skipped", "skipped", "not evidenced", "warned", "model only")


@dataclass(slots=True)
class Verdict:
    """The run's one verdict: status, exit code, why (``reasons``) and what it does not cover."""

    status: Outcome
    reasons: list[str] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return self.status.exit_code

    @property
    def headline(self) -> str:
        """One line: the status and, when there are gaps, what they are."""
        if not self.gaps:
            return self.status.value
        return f"{self.status.value} ({'; '.join(g.message for g in self.gaps)})"

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status.value, "exit_code": self.exit_code, "reasons": list(self.reasons),
                "gaps": [g.to_dict() for g in self.gaps]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        return cls(Outcome(data["status"]), list(data.get("reasons", [])),
                   [Gap.from_dict(g) for g in data.get("gaps", [])])


# The verdict of a record not decided yet: RunRecord decides it on construction.
UNDECIDED = Verdict(Outcome.ERROR, ["not decided"])


@dataclass(slots=True)
class RunRecord:
    """Everything one run produced: provenance, per-stage summaries, all results, the controls
    they evidence, the waivers in force and the verdict (decided once, on construction, when not
    given: :func:`harness.verdict.decide`)."""

    run_id: str
    provenance: Provenance
    stages: list[StageSummary] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    schema_version: str = SCHEMA_VERSION
    controls: list[ControlRecord] = field(default_factory=list)
    frameworks: dict[str, str] = field(default_factory=dict)  # key -> display name, catalog order
    catalog: str | None = None  # where the controls came from; None: no catalog in this run
    waivers: list[WaiverRecord] = field(default_factory=list)
    verdict: Verdict = field(default_factory=lambda: UNDECIDED)  # decided in __post_init__

    def __post_init__(self) -> None:
        if self.verdict is UNDECIDED:
            from harness.verdict import decide

            self.verdict = decide(self)

    def revised(self, **changes: Any) -> RunRecord:
        """A copy with ``changes`` whose verdict is decided again (``dataclasses.replace`` keeps the
        old one; controls are indices into results, so pass new ``controls`` with new ``results``)."""
        return replace(self, **changes, verdict=UNDECIDED)

    def stage_summaries(self) -> list[StageSummary]:
        """Every stage in run order, as recorded (see :func:`harness.verdict.stage_summaries`):
        what reporters show; none decides a stage's status itself."""
        from harness.verdict import stage_summaries

        return stage_summaries(self)

    @property
    def exit_code(self) -> int:
        """The verdict's exit code: 0 passed; 1 a gate failed; 2 no verdict (see :class:`Outcome`)."""
        return self.verdict.exit_code

    def counts(self) -> dict[str, int]:
        """Checks by status; tool summaries are counted apart (``summaries``), never as evidence."""
        counts = {s.value: 0 for s in Status}
        for result in self.results:
            if result.is_evidence:
                counts[result.status.value] += 1
        counts["summaries"] = sum(not r.is_evidence for r in self.results)
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "run_id": self.run_id,
            "provenance": self.provenance.to_dict(),
            "stages": [s.to_dict() for s in self.stages],
            "counts": self.counts(),
            "exit_code": self.exit_code,
            "verdict": self.verdict.to_dict(),
            "catalog": self.catalog,
            "frameworks": dict(self.frameworks),
            "controls": [c.to_dict() for c in self.controls],
            "waivers": [w.to_dict() for w in self.waivers],
            "results": [r.to_dict() for r in self.results],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        """The record as written; a record older than 1.2 (no verdict) gets its verdict decided here."""
        verdict = data.get("verdict")
        return cls(
            run_id=data["run_id"],
            provenance=Provenance.from_dict(data["provenance"]),
            stages=[StageSummary.from_dict(s) for s in data.get("stages", [])],
            results=[Result.from_dict(r) for r in data.get("results", [])],
            schema_version=data.get("schema_version", SCHEMA_VERSION),
            controls=[ControlRecord.from_dict(c) for c in data.get("controls", [])],
            frameworks=dict(data.get("frameworks", {})),
            catalog=data.get("catalog"),
            waivers=[WaiverRecord.from_dict(w) for w in data.get("waivers", [])],
            verdict=Verdict.from_dict(verdict) if verdict else UNDECIDED,
        )


def find_results(ref: str | Path | None, reports_dir: Path) -> Path:
    """The ``results.json`` that ``ref`` names: the file itself, a run directory, or a run id
    (default ``latest``, also where it is a pointer file because symlinks fail) under ``reports_dir``."""
    name = str(ref or "latest")
    for candidate in (Path(name), reports_dir / name):
        if candidate.is_file() and candidate.suffix != ".json":  # reports/latest as a pointer file
            candidate = reports_dir / candidate.read_text(encoding="utf-8").strip()
        path = candidate / "results.json" if candidate.is_dir() else candidate
        if path.is_file():
            return path
    raise ReportError(f"no run {name!r}: neither a results.json, a run directory nor a run id under "
                      f"{reports_dir}", hint="pass a run id from reports/, a run directory or a results.json")


def load_record(path: Path) -> RunRecord:
    """The one reader of ``results.json``: read, checked against ``results.schema.json``, parsed.
    A missing, unreadable or invalid file is a :class:`ReportError` naming it."""
    from harness.schemas import results_errors

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file", hint="run `harness verify` first") from None
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: cannot read: {exc}") from None
    problems = results_errors(data)
    if problems:
        raise ReportError(f"{path}: does not match results.schema.json: {problems[0]}")
    return RunRecord.from_dict(data)


__all__ = ["GAP_KINDS", "MODEL_PREFIX", "SCHEMA_VERSION", "SEVERITIES", "ControlRecord", "ControlStatus",
           "Gap", "Outcome", "Provenance", "Result", "ResultKind", "RunRecord", "Severity", "StageSummary",
           "Status", "Verdict", "WaiverRecord", "find_results", "is_model", "load_record", "problem_rank"]
