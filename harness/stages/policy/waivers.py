"""Waivers (``policies/waivers.yaml``): validated before anything runs, matched as pure functions.

A waiver turns one failing result into ``waived`` (never hides it). An expired waiver, or one that
no longer matches any failing result, is itself a failure so that waivers cannot rot.

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
from typing import Any

import jsonschema
import yaml

from harness.errors import ConfigError
from harness.stages.policy.model import Finding

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

    def matches(self, finding: Finding) -> bool:
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
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
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
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
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


def apply_waivers(findings: Sequence[Finding], waivers: Sequence[Waiver], today: dt.date) -> WaiverOutcome:
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


__all__ = ["SCHEMA", "Waiver", "WaiverOutcome", "apply_waivers", "load_waivers"]
