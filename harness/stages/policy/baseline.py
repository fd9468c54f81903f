"""Baseline mode: record today's failures once, then fail only on new ones.

The baseline stores fingerprints (policy id, resource, file; no line numbers, so edits above a
finding do not make it "new"). Known failures are reported as ``warned`` (non-gating: a baseline is
not a governed waiver) with the baseline recorded as the reason, so adopting the harness hides nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError
from harness.stages.policy.model import Finding

VERSION = 1


@dataclass(slots=True, frozen=True)
class Baseline:
    path: Path
    created: str
    fingerprints: frozenset[str]

    def covers(self, finding: Finding) -> bool:
        return finding.failed and finding.fingerprint in self.fingerprints

    def as_waiver(self) -> dict[str, str]:
        return {"id": "baseline", "resource": "*", "reason": f"known failure recorded in the baseline "
                f"{self.path.name} on {self.created}", "owner": "baseline", "approved_by": "baseline",
                "expires": ""}


def record_baseline(findings: Iterable[Finding], path: Path, now: dt.datetime | None = None) -> Baseline:
    """Write the fingerprints of every failed finding to ``path``."""
    created = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    prints = sorted({f.fingerprint for f in findings if f.failed})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": VERSION, "created": created, "fingerprints": prints},
                               indent=2) + "\n", encoding="utf-8")
    return Baseline(path, created, frozenset(prints))


def load_baseline(path: Path) -> Baseline:
    """Read a baseline written by :func:`record_baseline`; a ConfigError names what is wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: baseline file not found",
                          hint="record one with: python -m harness.stages.policy baseline") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read baseline: {exc}") from exc
    prints = data.get("fingerprints") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(prints, list):
        raise ConfigError(f"{path}: not a version {VERSION} baseline (needs 'version' and 'fingerprints')")
    return Baseline(path, str(data.get("created", "?")), frozenset(str(p) for p in prints))


__all__ = ["Baseline", "load_baseline", "record_baseline"]
