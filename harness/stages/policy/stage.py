"""``PolicyStage``: checkov, our own policies and schema validation, no environment needed."""

from __future__ import annotations

import time
from importlib import metadata

from harness.results import Result, Severity, Status
from harness.stages.base import StageContext
from harness.stages.policy.engine import Collected, Prepared, collect, prepare, write_evidence
from harness.stages.policy.model import Finding
from harness.stages.policy.options import PolicyOptions
from harness.stages.policy.waivers import apply_waivers

STAGE = "policy"


class PolicyStage:
    NAME = STAGE
    NEEDS_ENVIRONMENT = False

    def run(self, ctx: StageContext) -> list[Result]:
        options = PolicyOptions.from_config(ctx.config)
        results, collected = run_policy(options)
        evidence = write_evidence(collected, ctx.evidence_dir / STAGE)
        relative = evidence.relative_to(ctx.run_dir).as_posix()
        for result in results:
            if result.status in (Status.FAILED, Status.ERROR):
                result.evidence.append(relative)
        return results


def run_policy(options: PolicyOptions) -> tuple[list[Result], Collected]:
    """Validate waivers/catalog/baseline first, then collect findings and build the results."""
    prepared = prepare(options)
    started = time.perf_counter()
    collected = collect(options)
    results = build_results(collected, prepared, options)
    elapsed = time.perf_counter() - started
    for result in results:
        result.duration_s = elapsed / max(len(results), 1)
    return results, collected


def build_results(collected: Collected, prepared: Prepared, options: PolicyOptions) -> list[Result]:
    findings = collected.findings
    outcome = apply_waivers(findings, prepared.waivers, options.today)
    results = [_result(f, prepared) for f in findings]
    for finding, result in zip(findings, results, strict=True):
        result.proven_on = proven_on(finding.engine, collected.checkov_version)
    for index, result in enumerate(results):
        if result.status is not Status.FAILED:
            continue
        if index in outcome.waived:
            result.status, result.waiver = Status.WAIVED, outcome.waived[index].to_dict()
        elif prepared.baseline is not None and prepared.baseline.covers(findings[index]):
            # a known failure is non-gating debt, not a governed waiver (no approver, no expiry)
            result.status, result.waiver = Status.WARNED, prepared.baseline.as_waiver()
    results += [_waiver_failure("EU-WAIVER-EXPIRED", w.entry, f"waiver expired on {w.expires}", options)
                for w in outcome.expired]
    results += [_waiver_failure("EU-WAIVER-UNMATCHED", w.entry, "waiver matches no failing result; "
                                "remove it", options) for w in outcome.unmatched]
    results += [Result(i, STAGE, "policy inputs could be read and checked", Status.ERROR, Severity.HIGH,
                       location=where, message=msg) for i, where, msg in collected.errors]
    if not findings:
        results.append(Result("EU-POLICY-EMPTY", STAGE, "there was something to check", Status.SKIPPED,
                              Severity.INFO, controls=["EU-C-GOV-01"], location=str(options.root),
                              message="no Terraform, manifests, Dockerfiles or workflows found: nothing "
                              "was checked (see [policy] and [paths] in harness.toml)"))
    if collected.unknown_kinds:
        results.append(Result("EU-SCHEMA-UNKNOWN", STAGE, "objects without a known schema", Status.SKIPPED,
                              Severity.LOW, message="no schema (built-in or CRD) for: "
                              + ", ".join(sorted(collected.unknown_kinds))))
    for result in results:
        result.proven_on = result.proven_on or proven_on("harness", collected.checkov_version)
    return sorted(results, key=lambda r: (r.status is Status.PASSED, r.id, r.location or ""))


def proven_on(engine: str, checkov_version: str) -> str:
    """What produced a finding: checkov (with its custom checks), our policies, or schema validation."""
    if engine == "checkov":
        return f"checkov {checkov_version or 'unknown version'}"
    if engine == "schema":
        return f"kubernetes-validate {_version('kubernetes-validate')}"
    return f"harness policies {_version('cloud-verify-harness')}"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown version"


def _result(finding: Finding, prepared: Prepared) -> Result:
    catalog = prepared.catalog
    meta = catalog.policies.get(finding.id)
    return Result(
        id=finding.id,
        stage=STAGE,
        title=meta.title if meta else finding.title or finding.id,
        status=Status.PASSED if finding.passed else Status.FAILED,
        severity=catalog.severity_for(finding.id),
        controls=catalog.controls_for(finding.id),
        location=finding.location,
        message=f"{finding.resource}: {finding.message}" if finding.message else finding.resource,
        remediation=meta.remediation if meta else None,
    )


def _waiver_failure(result_id: str, entry: str, message: str, options: PolicyOptions) -> Result:
    return Result(result_id, STAGE, "waivers are current and used", Status.FAILED, Severity.HIGH,
                  controls=["EU-C-GOV-01"], location=_shown(options.waivers_file, options),
                  message=f"{entry}: {message}",
                  remediation="renew the waiver with a new approval, or remove it")


def _shown(path: object, options: PolicyOptions) -> str:
    try:
        return str(options.waivers_file.resolve().relative_to(options.root))
    except ValueError:
        return str(path)


__all__ = ["PolicyStage", "build_results", "run_policy"]
