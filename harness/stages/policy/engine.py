"""The policy run as plain functions: gather findings from every engine, then turn them into
results with catalog metadata, waivers and the baseline applied."""

from __future__ import annotations

import json
import multiprocessing
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from harness.catalog import Catalog, catalog_for
from harness.errors import StageError
from harness.stages.policy.baseline import Baseline, load_baseline
from harness.stages.policy.checkov_run import ensure_pinned, preload, run_checkov, stage_tree, to_findings
from harness.stages.policy.inputs import Sources, discover, load_terraform_blocks
from harness.stages.policy.model import Finding
from harness.stages.policy.options import PolicyOptions
from harness.stages.policy.rules import load_rules
from harness.stages.policy.schema import validate_manifests
from harness.stages.policy.waivers import Waiver, load_waivers

# checkov custom checks live in policies/checkov_custom/ (not "checkov/": a folder of that name
# would shadow the checkov package for anything that puts policies/ on its path, mypy included)
CUSTOM_CHECKS = "checkov_custom"


@dataclass(slots=True)
class Collected:
    """All findings of one run, what broke while collecting them, and how long each part took."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (id, location, message)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (location, what was not checked and why)
    found: list[str] = field(default_factory=list)  # what was checked, for people
    renderers: list[str] = field(default_factory=list)
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
    catalog, _ = catalog_for(options.policies, options.builtin_policies)  # the engine reads the same
    waivers = load_waivers(options.waivers_file)
    baseline = load_baseline(options.baseline) if options.baseline else None
    return Prepared(catalog, waivers, baseline)


def collect(options: PolicyOptions) -> Collected:
    """Run harness rules, schema validation and checkov over the repo named by ``options``.

    checkov (which forks its own runners) and our side (Terraform parsing, harness rules, schema
    validation) are independent once the overlays are rendered, so our side runs in a forked
    child meanwhile: on two cores the stage then costs little more wall time than checkov alone.
    """
    collected = Collected(checkov_version=ensure_pinned(options.allow_checkov_drift))
    started = time.perf_counter()
    # kustomize renders in child processes: import checkov meanwhile instead of after
    importer = threading.Thread(target=preload, args=(options.frameworks,), name="checkov-import",
                                daemon=True)
    importer.start()
    sources = discover(options.root, options.terraform, options.manifests, options.exclude,
                       parse_terraform=False)
    importer.join()  # before forking the rules/schema worker: no thread may hold the import lock
    sources.inputs.options = options.rule_options()
    collected.timings["render"] = time.perf_counter() - started
    collected.skipped, collected.found = list(sources.skipped), describe_inputs(sources)
    collected.renderers = sorted(sources.renderers)
    with _Background(harness_side, options, sources) as ours:
        _checkov(options, sources, collected)
        mine = ours.result()
    collected.findings += mine.findings
    collected.errors += mine.errors
    collected.unknown_kinds |= mine.unknown_kinds
    collected.timings.update(mine.timings)
    return collected


def harness_side(options: PolicyOptions, sources: Sources) -> Collected:
    """Everything but checkov: parse Terraform, run our rules, validate manifest schemas."""
    collected = Collected()
    started = time.perf_counter()
    load_terraform_blocks(sources)
    collected.errors += [("EU-POLICY-INPUT", where, msg) for where, msg in sources.problems]
    collected.timings["terraform"] = time.perf_counter() - started
    _harness_rules(options, sources, collected)
    _schemas(options, sources, collected)
    return collected


class _Background:
    """Run ``func(*args)`` in a forked child and hand its (picklable) result back; in-line where
    fork is unavailable. The child is always reaped, also when the caller fails meanwhile."""

    def __init__(self, func: Callable[[PolicyOptions, Sources], Collected], *args: Any) -> None:
        self._func, self._args = func, args
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None

    def __enter__(self) -> _Background:
        if "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            self._conn, child_end = context.Pipe(duplex=False)
            self._process = context.Process(target=self._child, args=(child_end,), daemon=True)
            self._process.start()
            child_end.close()
        return self

    def _child(self, conn: Connection) -> None:
        try:
            conn.send(("ok", self._func(*self._args)))
        except BaseException as exc:  # reported by the parent as a harness error
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        finally:
            conn.close()

    def result(self) -> Collected:
        if self._conn is None:
            return self._func(*self._args)
        try:
            status, payload = self._conn.recv()
        except EOFError:
            raise StageError("policy stage: the rules/schema worker died without a result") from None
        if status != "ok":
            raise StageError(f"policy stage: rules/schema worker failed: {payload}")
        result: Collected = payload
        return result

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None:
            if exc_info[0] is not None:
                self._process.terminate()
            self._process.join()
        if self._conn is not None:
            self._conn.close()


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
    external = [d / CUSTOM_CHECKS for d in options.policy_dirs() if (d / CUSTOM_CHECKS).is_dir()]
    with tempfile.TemporaryDirectory(prefix="harness-policy-") as tmp:
        staged = stage_tree(sources, Path(tmp))
        reports = run_checkov(Path(tmp), external, options.skip_checks, options.frameworks,
                              secret_files=staged.secret_files)
        findings, errors = to_findings(reports, staged, f"checkov {collected.checkov_version}")
    collected.findings += findings
    collected.errors += [("EU-POLICY-CHECKOV", "checkov", e) for e in errors]
    collected.timings["checkov"] = time.perf_counter() - started


def describe_inputs(sources: Sources) -> list[str]:
    """What the run found to check, one phrase per kind of input."""
    k8s = sources.inputs.k8s
    raw = {sources.rel(p.parent) for p in sources.raw_manifests}
    rendered = [g for g in k8s if g not in raw]
    parts = [f"{len(sources.tf_dirs)} Terraform folder(s)" if sources.tf_dirs else "",
             f"{len(rendered)} rendered overlay(s)/chart(s) ({', '.join(rendered)})" if rendered else "",
             f"{len(sources.raw_manifests)} plain manifest file(s)" if sources.raw_manifests else "",
             f"{sum(len(d) for d in k8s.values())} Kubernetes object(s)" if k8s else "",
             f"{len(sources.dockerfiles)} Dockerfile(s)" if sources.dockerfiles else "",
             f"{len(sources.workflows)} workflow(s)" if sources.workflows else ""]
    return [p for p in parts if p]


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
