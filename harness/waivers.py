"""Waivers (``policies/waivers.yaml``): validated before anything runs, matched as pure functions.

The one reader of the waivers file: the policy stage applies them, the engine checks that every
``waived`` result carries a governed waiver (:func:`governance_problems`: owner, approver, reason and
an expiry not yet passed; otherwise the result is a failure) and records the waivers in force
(:func:`waiver_records`) for reporters.

A waiver turns one failing result into ``waived`` (never hides it). An expired waiver, or one that
no longer matches any failing result, is itself a failure so that waivers cannot rot. A waiver
missing a field is a configuration error naming the file and the entry.

    version: 1
    waivers:
      - id: CKV_K8S_43                      # result id (fnmatch pattern)
        resource: "manifests/overlays/*"    # fnmatch on the result's resource or location
        reason: digests are pinned by the release pipeline, tags in git
        owner: platform-team
        approved_by: jane.doe
        expires: 2027-03-31
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jsonschema

from harness.errors import ConfigError
from harness.results import Result, Status, WaiverRecord
from harness.schemas import read_document

EXPIRY_WARNING_DAYS = 30
GOVERNED_FIELDS = ("owner", "approved_by", "reason", "expires")


class Waivable(Protocol):
    """What a waiver matches on (the policy stage's findings have these)."""

    @property
    def id(self) -> str: ...

    @property
    def passed(self) -> bool: ...

    @property
    def resource(self) -> str: ...

    @property
    def location(self) -> str: ...

_TEXT = {"type": "string", "minLength": 1}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["version", "waivers"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": 1},
        "waivers": {"type": ["array", "null"], "items": {
            "type": "object", "additionalProperties": False,
            "required": ["id", "resource", "reason", "owner", "approved_by", "expires"],
            "properties": {"id": _TEXT, "resource": _TEXT, "reason": {"type": "string", "minLength": 15},
                           "owner": _TEXT, "approved_by": _TEXT,
                           "expires": {"type": "string", "format": "date"}}}},
    },
}


@dataclass(slots=True, frozen=True)
class Waiver:
    id: str
    resource: str
    reason: str
    owner: str
    approved_by: str
    expires: dt.date
    entry: str  # "waivers.yaml#3 (CKV_K8S_43)" for messages

    def matches(self, finding: Waivable) -> bool:
        if not fnmatch.fnmatchcase(finding.id, self.id):
            return False
        path = finding.location.rsplit(":", 1)[0]
        return any(fnmatch.fnmatchcase(s, self.resource) for s in (finding.resource, finding.location, path))

    def expired(self, today: dt.date) -> bool:
        return self.expires < today

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "resource": self.resource, "reason": self.reason, "owner": self.owner,
                "approved_by": self.approved_by, "expires": self.expires.isoformat()}


def load_waivers(path: Path) -> list[Waiver]:
    """Parse and validate a waivers file; a missing file means no waivers."""
    if not path.is_file():
        return []
    return parse_waivers(read_document(path), path)


def parse_waivers(data: Any, path: Path) -> list[Waiver]:
    """Validate loaded YAML as a waivers file; a ConfigError names ``path`` and the entry."""
    data = _dates_as_text(data)
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data))
    if error is not None:
        raise ConfigError.at(str(path), _where(data, list(error.absolute_path)), error.message)
    return [_waiver(path, i, raw) for i, raw in enumerate(data.get("waivers") or [])]


def _dates_as_text(data: Any) -> Any:
    """YAML loads ``2027-01-31`` as a date; the schema (and messages) speak text."""
    if isinstance(data, dict):
        return {k: _dates_as_text(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_dates_as_text(v) for v in data]
    return data.isoformat() if isinstance(data, dt.date) else data


def _where(data: Any, parts: list[Any]) -> str:
    if len(parts) >= 2 and parts[0] == "waivers" and isinstance(parts[1], int):
        entry = data["waivers"][parts[1]]
        label = entry.get("id", "?") if isinstance(entry, dict) else "?"
        rest = "/".join(str(p) for p in parts[2:])
        return f"waiver #{parts[1] + 1} ({label})" + (f" {rest}" if rest else "")
    return "/".join(str(p) for p in parts) or "(top level)"


def _waiver(path: Path, index: int, raw: dict[str, Any]) -> Waiver:
    entry = f"{path.name}#{index + 1} ({raw['id']})"
    return Waiver(raw["id"], raw["resource"], raw["reason"], raw["owner"], raw["approved_by"],
                  _date(path, entry, raw["expires"]), entry)


def _date(path: Path, entry: str, value: Any) -> dt.date:
    # always text here: parse_waivers turned YAML's dates into text for the schema
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError.at(str(path), entry, f"expires {value!r} is not a date (YYYY-MM-DD)") from None


@dataclass(slots=True, frozen=True)
class WaiverOutcome:
    """Which failing findings each waiver covers, and the waivers that are themselves failures."""

    waived: dict[int, Waiver]  # index into the findings list -> waiver
    expired: list[Waiver]
    unmatched: list[Waiver]


def apply_waivers(findings: Sequence[Waivable], waivers: Sequence[Waiver], today: dt.date) -> WaiverOutcome:
    """Match each failed finding against the live waivers (first match wins)."""
    live = [w for w in waivers if not w.expired(today)]
    waived: dict[int, Waiver] = {}
    used: set[str] = set()
    for index, finding in enumerate(findings):
        if finding.passed:
            continue
        waiver = next((w for w in live if w.matches(finding)), None)
        if waiver is not None:
            waived[index] = waiver
            used.add(waiver.entry)
    expired = [w for w in waivers if w.expired(today)]
    unmatched = [w for w in live if w.entry not in used]
    return WaiverOutcome(waived, expired, unmatched)


def waivers_path(policies: Path, configured: Path | None = None) -> Path:
    """``[policy] waivers`` when configured, else ``<policies>/waivers.yaml``."""
    return configured or policies / "waivers.yaml"


def governance_problems(waiver: dict[str, str] | None, today: dt.date) -> list[str]:
    """Why a recorded waiver does not govern a ``waived`` result ([] when it does): a missing owner,
    approver, reason or expiry, an expiry that is not a date, or one that has passed."""
    given = waiver or {}
    problems = [f"no {name}" for name in GOVERNED_FIELDS if not str(given.get(name) or "").strip()]
    expires = str(given.get("expires") or "").strip()
    if expires:
        try:
            if dt.date.fromisoformat(expires) < today:
                problems.append(f"expired on {expires}")
        except ValueError:
            problems.append(f"expiry {expires!r} is not a date")
    return problems


def govern(results: Sequence[Result], today: dt.date) -> list[Result]:
    """Turn every ``waived`` result without a governed waiver into ``failed``, saying why.

    Only a waiver with owner, approver, reason and a live expiry may accept a failure; anything
    else that calls itself waived was a failure someone wanted to hide.
    """
    for result in results:
        problems = governance_problems(result.waiver, today) if result.status is Status.WAIVED else []
        if problems:
            result.status = Status.FAILED
            result.message = (f"waiver not governed ({', '.join(problems)}); counted as failed"
                              + (f": {result.message}" if result.message else ""))
    return list(results)


def state(expires: dt.date, today: dt.date) -> str:
    """``expired``, ``expiring`` (within :data:`EXPIRY_WARNING_DAYS`) or ``active``."""
    left = (expires - today).days
    return "expired" if left < 0 else "expiring" if left <= EXPIRY_WARNING_DAYS else "active"


def waiver_records(waivers: Sequence[Waiver], results: Sequence[Result],
                   today: dt.date) -> list[WaiverRecord]:
    """The waivers in force, each with its state as of ``today`` and how many results it waived."""
    records = []
    for waiver in waivers:
        used = sum(1 for r in results if r.status is Status.WAIVED and r.waiver
                   and (r.waiver.get("id"), r.waiver.get("resource")) == (waiver.id, waiver.resource))
        records.append(WaiverRecord(
            waiver.id, waiver.resource, waiver.reason, waiver.owner, waiver.approved_by,
            waiver.expires.isoformat(), waiver.entry, state(waiver.expires, today), used,
            (waiver.expires - today).days))
    return records


__all__ = ["EXPIRY_WARNING_DAYS", "GOVERNED_FIELDS", "SCHEMA", "Waivable", "Waiver", "WaiverOutcome",
           "apply_waivers", "govern", "governance_problems", "load_waivers", "parse_waivers", "state",
           "waiver_records", "waivers_path"]
