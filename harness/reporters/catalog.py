"""Controls and waivers as reviewers see them: catalog loading and control status (pure).

The catalog (``policies/controls.yaml``) and the waivers (``policies/waivers.yaml``) are optional
inputs of the report: when a file is absent or unreadable the report says so instead of failing.

The catalog format is the policy stage's (``version``, ``frameworks: {key: display name}``,
``controls: [{id, title, rationale, severity, frameworks: {key: [refs]}, evidence: [id patterns]}]``);
``results:`` is accepted as a synonym of ``evidence:``. A result evidences a control when its
``controls`` list names the control, or when its id matches the control's patterns, literal ids
winning over wildcards as in the policy stage (a check listed literally by some control is not also
claimed by another control's catch-all such as ``CKV_AWS_*``).

Control status, from the results that evidence a control:

* ``failed``        any evidencing result failed or errored;
* ``waived``        otherwise, some evidencing result is waived;
* ``passed``        otherwise, at least one evidencing result passed;
* ``not evidenced`` no evidencing results, or only skipped ones. Never shown as passed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

from harness.results import Result, Status

EXPIRY_WARNING_DAYS = 30


class ControlStatus(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WAIVED = "waived"
    NOT_EVIDENCED = "not evidenced"


@dataclass(frozen=True, slots=True)
class Control:
    """One catalog entry: what reviewers sign off on."""

    id: str
    title: str
    rationale: str = ""
    severity: str = "medium"
    frameworks: dict[str, list[str]] = field(default_factory=dict)
    results: list[str] = field(default_factory=list)

    def lists(self, result_id: str) -> bool:
        """Whether the id is listed literally (not only through a wildcard)."""
        return result_id in self.results

    def matches(self, result_id: str) -> bool:
        return any(fnmatchcase(result_id, pattern) for pattern in self.results)


@dataclass(frozen=True, slots=True)
class Waiver:
    """One accepted exception: result id (pattern), resource pattern, owner and expiry."""

    id: str
    resource: str
    reason: str
    owner: str
    approved_by: str
    expires: date | None

    def days_left(self, today: date) -> int | None:
        return None if self.expires is None else (self.expires - today).days

    def state(self, today: date) -> str:
        """``expired``, ``expiring`` (within 30 days), ``active`` or ``no expiry``."""
        left = self.days_left(today)
        if left is None:
            return "no expiry"
        if left < 0:
            return "expired"
        return "expiring" if left <= EXPIRY_WARNING_DAYS else "active"

    def covers(self, result: Result) -> bool:
        location = result.location or ""
        places = (location, location.rsplit(":", 1)[0])  # "file:line" also matches a file pattern
        return fnmatchcase(result.id, self.id) and any(fnmatchcase(p, self.resource or "*") for p in places)


@dataclass(slots=True)
class Loaded:
    """What a YAML input gave: its items, where it came from and, if it could not be read, why."""

    source: Path | None
    controls: list[Control] = field(default_factory=list)
    frameworks: dict[str, str] = field(default_factory=dict)  # key -> display name, in catalog order
    waivers: list[Waiver] = field(default_factory=list)
    problem: str | None = None

    @property
    def available(self) -> bool:
        return self.source is not None and self.problem is None


@dataclass(slots=True)
class ControlAssessment:
    control: Control
    status: ControlStatus
    evidence: list[int]  # indices into RunRecord.results
    counts: dict[str, int]


def control_status(statuses: Iterable[Status]) -> ControlStatus:
    """The status of a control from the statuses of its evidencing results."""
    seen = set(statuses)
    if seen & {Status.FAILED, Status.ERROR}:
        return ControlStatus.FAILED
    if Status.WAIVED in seen:
        return ControlStatus.WAIVED
    if Status.PASSED in seen:
        return ControlStatus.PASSED
    return ControlStatus.NOT_EVIDENCED


def assess_controls(controls: Sequence[Control], results: Sequence[Result]) -> list[ControlAssessment]:
    """Each control with its status and the indices of the results that evidence it."""
    evidenced = [evidencing_controls(controls, r) for r in results]
    assessments = []
    for control in controls:
        indices = [i for i, ids in enumerate(evidenced) if control.id in ids]
        counts = {s.value: 0 for s in Status}
        for i in indices:
            counts[results[i].status.value] += 1
        status = control_status(results[i].status for i in indices)
        assessments.append(ControlAssessment(control, status, indices, counts))
    return assessments


def evidencing_controls(controls: Sequence[Control], result: Result) -> set[str]:
    """Ids of the controls a result evidences: those it names, plus pattern matches (literal first)."""
    literal = {c.id for c in controls if c.lists(result.id)}
    return (literal or {c.id for c in controls if c.matches(result.id)}) | set(result.controls)


def load_controls(path: Path | None) -> Loaded:
    """Read ``controls.yaml``; a missing or malformed file is reported, not raised."""
    loaded, items = _load_list(path, "controls")
    try:
        loaded.controls = [_control(item) for item in items]
        loaded.frameworks = _framework_names(path)
    except (KeyError, TypeError, ValueError) as exc:
        loaded.problem = f"{path}: malformed control entry ({exc!r})"
    return loaded


def load_waivers(path: Path | None) -> Loaded:
    """Read ``waivers.yaml``; a missing or malformed file is reported, not raised."""
    loaded, items = _load_list(path, "waivers")
    try:
        loaded.waivers = [_waiver(item) for item in items]
    except (KeyError, TypeError, ValueError) as exc:
        loaded.problem = f"{path}: malformed waiver entry ({exc!r})"
    return loaded


def _load_list(path: Path | None, key: str) -> tuple[Loaded, list[dict[str, Any]]]:
    if path is None:
        return Loaded(None, problem="not given"), []
    if not path.is_file():
        return Loaded(path, problem=f"{path} does not exist"), []
    try:
        data = _read_yaml(path)
    except (OSError, yaml.YAMLError) as exc:
        return Loaded(path, problem=f"{path} could not be read: {exc}"), []
    items = (data.get(key) or []) if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return Loaded(path, problem=f"{path}: expected a list of mappings under '{key}:'"), []
    return Loaded(path), items


def _control(item: dict[str, Any]) -> Control:
    frameworks = item.get("frameworks") or {}
    return Control(
        id=str(item["id"]),
        title=str(item.get("title", item["id"])),
        rationale=str(item.get("rationale", "")),
        severity=str(item.get("severity", "medium")),
        frameworks={str(k): [str(x) for x in _as_list(v)] for k, v in frameworks.items()},
        results=[str(p) for p in _as_list(item.get("evidence", item.get("results")))],
    )


def _read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _framework_names(path: Path | None) -> dict[str, str]:
    if path is None or not path.is_file():
        return {}
    names = _read_yaml(path).get("frameworks")
    return {str(k): str(v) for k, v in names.items()} if isinstance(names, dict) else {}


def _waiver(item: dict[str, Any]) -> Waiver:
    expires = item.get("expires")
    if isinstance(expires, datetime):
        expires = expires.date()
    if isinstance(expires, str):
        expires = date.fromisoformat(expires)
    if expires is not None and not isinstance(expires, date):
        raise ValueError(f"expires must be a date, got {expires!r}")
    return Waiver(
        id=str(item["id"]),
        resource=str(item.get("resource", "*")),
        reason=str(item.get("reason", "")),
        owner=str(item.get("owner", "")),
        approved_by=str(item.get("approved_by", "")),
        expires=expires,
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


__all__ = [
    "EXPIRY_WARNING_DAYS",
    "Control",
    "ControlAssessment",
    "ControlStatus",
    "Loaded",
    "Waiver",
    "assess_controls",
    "control_status",
    "evidencing_controls",
    "load_controls",
    "load_waivers",
]
