"""The control catalog (``policies/controls.yaml``): controls with their framework references and
the result ids that evidence them, and the metadata of each of our own policies."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from harness.errors import ConfigError
from harness.results import Severity

_SEVERITIES = [s.value for s in Severity]
_REFS = {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["version", "frameworks", "controls", "policies"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": 1},
        "frameworks": {"type": "object", "additionalProperties": {"type": "string"}},
        "defaults": {"type": "object", "additionalProperties": {"enum": _SEVERITIES}},
        "controls": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["id", "title", "rationale", "severity", "frameworks", "evidence"],
            "properties": {
                "id": {"type": "string", "pattern": "^[A-Z][A-Z0-9-]+$"}, "title": {"type": "string"},
                "rationale": {"type": "string"}, "severity": {"enum": _SEVERITIES},
                "frameworks": _REFS, "evidence": {"type": "array", "minItems": 1,
                                                  "items": {"type": "string"}}}}},
        "policies": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["id", "title", "severity", "rationale", "remediation", "engine", "references"],
            "properties": {
                "id": {"type": "string", "pattern": "^EU-[A-Z0-9]+-[0-9]{3}$"}, "title": {"type": "string"},
                "severity": {"enum": _SEVERITIES}, "rationale": {"type": "string", "minLength": 10},
                "remediation": {"type": "string", "minLength": 10},
                "engine": {"enum": ["harness", "checkov-python", "checkov-yaml"]},
                "references": _REFS}}},
    },
}


@dataclass(slots=True, frozen=True)
class Control:
    id: str
    title: str
    rationale: str
    severity: Severity
    frameworks: dict[str, list[str]]
    evidence: tuple[str, ...]

    def evidenced_by(self, result_id: str) -> bool:
        return any(fnmatch.fnmatchcase(result_id, pattern) for pattern in self.evidence)

    def names(self, result_id: str) -> bool:
        """Whether the id is listed literally (not only through a wildcard)."""
        return result_id in self.evidence


@dataclass(slots=True, frozen=True)
class PolicyMeta:
    id: str
    title: str
    severity: Severity
    rationale: str
    remediation: str
    engine: str
    references: dict[str, list[str]]


@dataclass(slots=True)
class Catalog:
    frameworks: dict[str, str] = field(default_factory=dict)
    controls: list[Control] = field(default_factory=list)
    policies: dict[str, PolicyMeta] = field(default_factory=dict)
    defaults: dict[str, Severity] = field(default_factory=dict)

    def controls_for(self, result_id: str) -> list[str]:
        """Controls that list the id literally; only when none does, those matching a wildcard
        (``CKV_AWS_*`` catch-alls must not pile onto specifically mapped checks)."""
        exact = [c.id for c in self.controls if c.names(result_id)]
        return exact or [c.id for c in self.controls if c.evidenced_by(result_id)]

    def severity_for(self, result_id: str) -> Severity:
        """Our policy's severity, else the highest of its controls', else the catalog default."""
        if result_id in self.policies:
            return self.policies[result_id].severity
        for pattern, severity in self.defaults.items():
            if fnmatch.fnmatchcase(result_id, pattern):
                return severity
        ranked = [c.severity for c in self.controls if c.evidenced_by(result_id)]
        return min(ranked, key=_SEVERITIES.index) if ranked else Severity.MEDIUM

    def merge(self, other: Catalog) -> Catalog:
        """A repo's own catalog extends the built-in one (same ids: the repo's wins)."""
        controls = {c.id: c for c in [*self.controls, *other.controls]}
        return Catalog({**self.frameworks, **other.frameworks}, list(controls.values()),
                       {**self.policies, **other.policies}, {**self.defaults, **other.defaults})


def load_catalog(path: Path) -> Catalog:
    """Parse and validate a controls.yaml; a ConfigError names the file and the failing entry."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read control catalog: {exc}") from exc
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ConfigError.at(str(path), where, error.message)
    return Catalog(
        frameworks=dict(data["frameworks"]),
        controls=[_control(c) for c in data["controls"]],
        policies={p["id"]: _policy(p) for p in data["policies"]},
        defaults={k: Severity(v) for k, v in (data.get("defaults") or {}).items()},
    )


def _control(raw: dict[str, Any]) -> Control:
    return Control(raw["id"], raw["title"], raw["rationale"], Severity(raw["severity"]),
                   dict(raw["frameworks"]), tuple(raw["evidence"]))


def _policy(raw: dict[str, Any]) -> PolicyMeta:
    return PolicyMeta(raw["id"], raw["title"], Severity(raw["severity"]), raw["rationale"],
                      raw["remediation"], raw["engine"], dict(raw["references"]))


__all__ = ["SCHEMA", "Catalog", "Control", "PolicyMeta", "load_catalog"]
