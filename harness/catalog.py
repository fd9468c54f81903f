"""The control catalog (``policies/controls.yaml``): controls with their framework references and
the result ids that evidence them, and the metadata of each of our own policies.

The one reader of ``controls.yaml``: the policy stage uses it for severities and control ids, the
engine (:func:`assess`) puts each control's status and evidence into the run record, and reporters
read only that record. :func:`catalog_for` is the built-in catalog extended by a repo's own.

Control status, from the results that evidence it (tool summaries never do):

* ``failed``        any evidencing result failed or errored;
* ``waived``        otherwise, some evidencing result is waived;
* ``warned``        otherwise, some evidencing result is warned;
* ``passed``        otherwise, at least one evidencing result passed;
* ``not evidenced`` no evidencing results, or only skipped ones. Never shown as passed.
"""

from __future__ import annotations

import fnmatch
import importlib.resources
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from harness.errors import ConfigError
from harness.results import SEVERITIES, ControlRecord, ControlStatus, Result, Severity, Status
from harness.schemas import read_document

# The harness's own policies and catalog, shipped as package data (a directory on disk: checkov and
# the rule loader read files by path); a checked repo's policies/ extend them.
BUILTIN_POLICIES = Path(str(importlib.resources.files("harness") / "policies"))
CATALOG_FILE = "controls.yaml"

_SEVERITIES = list(SEVERITIES)
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
                "references": _REFS,
                "controls": {"type": "array", "items": {"type": "string"}}}}},
    },
}


@dataclass(slots=True, frozen=True)
class CatalogControl:
    """A control as controls.yaml declares it (not the target's Control handle, nor a run's ControlRecord)."""

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
    # Controls the policy evidences besides those listing it: a repo's own policy can evidence a
    # built-in control without the built-in catalog naming an id only that repo defines.
    controls: tuple[str, ...] = ()


@dataclass(slots=True)
class Catalog:
    frameworks: dict[str, str] = field(default_factory=dict)
    controls: list[CatalogControl] = field(default_factory=list)
    policies: dict[str, PolicyMeta] = field(default_factory=dict)
    defaults: dict[str, Severity] = field(default_factory=dict)

    def controls_for(self, result_id: str) -> list[str]:
        """Controls that list the id literally; only when none does, those matching a wildcard
        (``CKV_AWS_*`` catch-alls must not pile onto specifically mapped checks)."""
        exact = [c.id for c in self.controls if c.names(result_id)]
        declared = self.policies[result_id].controls if result_id in self.policies else ()
        exact += [c for c in declared if c not in exact]
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


def policy_dirs(policies: Path, builtin: Path | None = None) -> list[Path]:
    """The built-in policies (default :data:`BUILTIN_POLICIES`), then the checked repo's own if it
    has different ones."""
    builtin = builtin or BUILTIN_POLICIES
    dirs = [builtin]
    if policies.is_dir() and policies.resolve() != builtin.resolve():
        dirs.append(policies)
    return dirs


def catalog_for(policies: Path, builtin: Path | None = None) -> tuple[Catalog, list[Path]]:
    """The built-in catalog extended by ``policies/controls.yaml`` (ConfigError on any mistake),
    and the files it was read from."""
    catalog, sources = Catalog(), []
    for directory in policy_dirs(policies, builtin):
        if (directory / CATALOG_FILE).is_file():
            own = load_catalog(directory / CATALOG_FILE)
            catalog = catalog.merge(own)
            sources.append(directory / CATALOG_FILE)
            known = {c.id for c in catalog.controls}
            for policy in own.policies.values():
                for control in sorted(set(policy.controls) - known):
                    raise ConfigError.at(str(sources[-1]), f"policies/{policy.id}/controls",
                                         f"{control} is not a control of the catalog")
    return catalog, sources


def load_catalog(path: Path) -> Catalog:
    """Parse and validate a controls.yaml; a ConfigError names the file and the failing entry."""
    return parse_catalog(read_document(path), str(path))


def parse_catalog(data: Any, source: str) -> Catalog:
    """Validate and build a catalog from loaded YAML; a ConfigError names ``source`` and the entry."""
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ConfigError.at(source, where, error.message)
    return Catalog(
        frameworks=dict(data["frameworks"]),
        controls=[_control(c) for c in data["controls"]],
        policies={p["id"]: _policy(p) for p in data["policies"]},
        defaults={k: Severity(v) for k, v in (data.get("defaults") or {}).items()},
    )


def _control(raw: dict[str, Any]) -> CatalogControl:
    return CatalogControl(raw["id"], raw["title"], raw["rationale"], Severity(raw["severity"]),
                   dict(raw["frameworks"]), tuple(raw["evidence"]))


def _policy(raw: dict[str, Any]) -> PolicyMeta:
    return PolicyMeta(raw["id"], raw["title"], Severity(raw["severity"]), raw["rationale"],
                      raw["remediation"], raw["engine"], dict(raw["references"]),
                      tuple(raw.get("controls", ())))


def evidencing(catalog: Catalog, result: Result) -> set[str]:
    """Ids of the controls a result evidences: those it names, plus the catalog's (literal first)."""
    if not result.is_evidence:
        return set()
    return set(catalog.controls_for(result.id)) | set(result.controls)


def control_status(statuses: Iterable[Status]) -> ControlStatus:
    """The status of a control from the statuses of its evidencing results."""
    seen = set(statuses)
    if seen & {Status.FAILED, Status.ERROR}:
        return ControlStatus.FAILED
    for status, control in ((Status.WAIVED, ControlStatus.WAIVED), (Status.WARNED, ControlStatus.WARNED),
                            (Status.PASSED, ControlStatus.PASSED)):
        if status in seen:
            return control
    return ControlStatus.NOT_EVIDENCED


def assess(catalog: Catalog, results: Sequence[Result]) -> list[ControlRecord]:
    """Each catalogued control with its status, evidencing results and what proved them."""
    evidenced = [evidencing(catalog, r) for r in results]
    records = []
    for control in catalog.controls:
        indices = [i for i, ids in enumerate(evidenced) if control.id in ids]
        ran = [results[i] for i in indices if results[i].status is not Status.SKIPPED]
        proven_on = sorted({r.proven_on or "not recorded" for r in ran})
        records.append(ControlRecord(
            control.id, control.title, control.severity.value, control_status(r.status for r in ran),
            {k: list(v) for k, v in control.frameworks.items()}, control.rationale, indices, proven_on,
            model_only=bool(ran) and all(r.on_model for r in ran)))
    return records


__all__ = ["BUILTIN_POLICIES", "CATALOG_FILE", "SCHEMA", "Catalog", "CatalogControl", "PolicyMeta", "assess",
           "catalog_for", "control_status", "evidencing", "load_catalog", "parse_catalog", "policy_dirs"]
