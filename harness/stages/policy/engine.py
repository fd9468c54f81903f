"""The policy run as plain functions: gather findings from every engine, then turn them into
results with catalog metadata, waivers and the baseline applied."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.stages.policy.baseline import Baseline, load_baseline
from harness.stages.policy.catalog import Catalog, load_catalog
from harness.stages.policy.checkov_run import ensure_pinned, run_checkov, stage_tree, to_findings
from harness.stages.policy.inputs import Sources, discover
from harness.stages.policy.model import Finding
from harness.stages.policy.options import PolicyOptions
from harness.stages.policy.rules import load_rules
from harness.stages.policy.schema import validate_manifests
from harness.stages.policy.waivers import Waiver, load_waivers


@dataclass(slots=True)
class Collected:
    """All findings of one run, what broke while collecting them, and how long each part took."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (id, location, message)
    unknown_kinds: set[str] = field(default_factory=set)
    timings: dict[str, float] = field(default_factory=dict)
    checkov_version: str = ""


@dataclass(slots=True)
class Prepared:
    """What is validated before anything runs: catalog, waivers, baseline."""

    catalog: Catalog
    waivers: list[Waiver]
    baseline: Baseline | None


def prepare(options: PolicyOptions) -> Prepared:
    """Load and validate the catalog, the waivers and the baseline (ConfigError on any mistake)."""
    catalog = Catalog()
    for directory in options.policy_dirs():
        if (directory / "controls.yaml").is_file():
            catalog = catalog.merge(load_catalog(directory / "controls.yaml"))
    waivers = load_waivers(options.waivers_file)
    baseline = load_baseline(options.baseline) if options.baseline else None
    return Prepared(catalog, waivers, baseline)


def collect(options: PolicyOptions) -> Collected:
    """Run harness rules, schema validation and checkov over the repo named by ``options``."""
    collected = Collected(checkov_version=ensure_pinned(options.allow_checkov_drift))
    started = time.perf_counter()
    sources = discover(options.root, options.terraform, options.manifests, options.exclude)
    sources.inputs.options = options.rule_options()
    collected.errors += [("EU-POLICY-INPUT", where, msg) for where, msg in sources.problems]
    collected.timings["load"] = time.perf_counter() - started
    _harness_rules(options, sources, collected)
    _schemas(options, sources, collected)
    _checkov(options, sources, collected)
    collected.findings = _dedupe(collected.findings)
    return collected


def _harness_rules(options: PolicyOptions, sources: Sources, collected: Collected) -> None:
    started = time.perf_counter()
    for rule in load_rules([d / "rules" for d in options.policy_dirs()]):
        try:
            collected.findings += rule.evaluate(sources.inputs)
        except Exception as exc:  # a broken rule is a harness error, not a finding
            collected.errors.append((rule.id, rule.source, f"policy crashed: {type(exc).__name__}: {exc}"))
    collected.timings["harness_rules"] = time.perf_counter() - started


def _schemas(options: PolicyOptions, sources: Sources, collected: Collected) -> None:
    started = time.perf_counter()
    report = validate_manifests(sources.inputs.docs(), options.k8s_version)
    collected.findings += report.findings
    collected.unknown_kinds |= report.unknown
    collected.timings["schema"] = time.perf_counter() - started


def _checkov(options: PolicyOptions, sources: Sources, collected: Collected) -> None:
    started = time.perf_counter()
    external = [d / "checkov" for d in options.policy_dirs() if (d / "checkov").is_dir()]
    with tempfile.TemporaryDirectory(prefix="harness-policy-") as tmp:
        staged = stage_tree(sources, Path(tmp))
        reports = run_checkov(Path(tmp), external, options.skip_checks, options.frameworks)
        findings, errors = to_findings(reports, staged)
    collected.findings += findings
    collected.errors += [("EU-POLICY-CHECKOV", "checkov", e) for e in errors]
    collected.timings["checkov"] = time.perf_counter() - started


def _dedupe(findings: Sequence[Finding]) -> list[Finding]:
    """checkov reports some checks once per container; one verdict per resource is enough, and a
    failure wins over a pass."""
    merged: dict[tuple[str, str, str], Finding] = {}
    for finding in findings:
        key = (finding.id, finding.resource, finding.location)
        if key not in merged or (merged[key].passed and not finding.passed):
            merged[key] = finding
    return list(merged.values())


def write_evidence(collected: Collected, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "findings.json"
    payload = {"checkov_version": collected.checkov_version, "timings_s": collected.timings,
               "unknown_kinds": sorted(collected.unknown_kinds),
               "findings": [{"id": f.id, "passed": f.passed, "resource": f.resource, "location": f.location,
                             "message": f.message, "engine": f.engine} for f in collected.findings]}
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    return path


__all__ = ["Collected", "Prepared", "collect", "prepare", "write_evidence"]
