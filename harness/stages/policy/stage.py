"""``PolicyStage``: checkov, our own policies and schema validation, no environment needed."""

from __future__ import annotations

import time

from harness.results import Result, Severity, Status
from harness.stages.base import StageContext, shown_path
from harness.stages.policy.engine import Collected, Prepared, collect, prepare, write_evidence
from harness.stages.policy.engine_checks import EngineChecks
from harness.stages.policy.model import Finding
from harness.stages.policy.options import PolicyOptions
from harness.stages.policy.rules import PROVEN_ON
from harness.stages.policy.waivers import apply_waivers

STAGE = "policy"


class PolicyStage:
    NAME = STAGE
    NEEDS_ENVIRONMENT = False

    def run(self, ctx: StageContext) -> list[Result]:
        options = PolicyOptions.from_config(ctx.config)
        with EngineChecks(ctx.config, options, ctx.evidence_dir / STAGE) as engines:  # beside checkov
            results, collected = run_policy(options)
        evidence = write_evidence(collected, ctx.evidence_dir / STAGE)
        relative = evidence.relative_to(ctx.run_dir).as_posix()
        for result in results:
            if result.status in (Status.FAILED, Status.ERROR):
                result.evidence.append(relative)
        return results + engines.results()


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
    judged = [i for i, f in enumerate(findings) if not f.skip]  # skipped verdicts are never waivable
    outcome = apply_waivers([findings[i] for i in judged], prepared.waivers, options.today)
    meta = _Metadata(prepared)
    results = [_result(f, meta) for f in findings]
    for position, index in enumerate(judged):
        result = results[index]
        if result.status is not Status.FAILED:
            continue
        if position in outcome.waived:
            result.status, result.waiver = Status.WAIVED, outcome.waived[position].to_dict()
        elif prepared.baseline is not None and prepared.baseline.covers(findings[index]):
            # a known failure is non-gating debt, not a governed waiver (no approver, no expiry)
            result.status, result.waiver = Status.WARNED, prepared.baseline.as_waiver()
    results += [_waiver_failure("EU-WAIVER-EXPIRED", w.entry, f"waiver expired on {w.expires}", options)
                for w in outcome.expired]
    results += [_waiver_failure("EU-WAIVER-UNMATCHED", w.entry, "waiver matches no failing result; "
                                "remove it", options) for w in outcome.unmatched]
    tools = _tools(collected)
    results += [Result(i, STAGE, "policy inputs could be read and checked", Status.ERROR, Severity.HIGH,
                       location=where, message=msg, proven_on=tools) for i, where, msg in collected.errors]
    results += _input_results(collected, options)
    if collected.unknown_kinds:
        results.append(Result("EU-SCHEMA-UNKNOWN", STAGE, "objects without a known schema", Status.SKIPPED,
                              Severity.LOW, message="no schema (built-in or CRD) for: "
                              + ", ".join(sorted(collected.unknown_kinds)), proven_on=tools))
    return sorted(results, key=lambda r: (r.status is Status.PASSED, r.id, r.location or ""))


def _input_results(collected: Collected, options: PolicyOptions) -> list[Result]:
    """What was checked (or that nothing was), and every input that was not checked, with why."""
    tools = _tools(collected)
    results = [Result("EU-POLICY-SKIPPED", STAGE, "every input found was checked", Status.SKIPPED,
                      Severity.MEDIUM, controls=["EU-C-GOV-01"], location=where, message=why, proven_on=tools)
               for where, why in collected.skipped]
    if not collected.findings:
        results.append(Result("EU-POLICY-EMPTY", STAGE, "there was something to check", Status.SKIPPED,
                              Severity.INFO, controls=["EU-C-GOV-01"], location=".",
                              message="no Terraform, manifests, Dockerfiles or workflows found: nothing "
                              "was checked (see [policy] and [paths] in harness.toml)", proven_on=tools))
    elif collected.found:
        results.append(Result("EU-POLICY-INPUTS", STAGE, "there was something to check", Status.PASSED,
                              Severity.INFO, controls=["EU-C-GOV-01"], location=".",
                              message="checked " + ", ".join(collected.found), proven_on=tools))
    return results


def _tools(collected: Collected) -> str:
    return " / ".join([f"checkov {collected.checkov_version}" if collected.checkov_version else "",
                       PROVEN_ON, *collected.renderers]).strip(" /")


class _Metadata:
    """Catalog severity and controls per result id, looked up once per id (a run has thousands of
    results but about a hundred ids, and each lookup matches every control's wildcards)."""

    def __init__(self, prepared: Prepared) -> None:
        self.catalog = prepared.catalog
        self._known: dict[str, tuple[Severity, list[str]]] = {}

    def of(self, result_id: str) -> tuple[Severity, list[str]]:
        if result_id not in self._known:
            catalog = self.catalog
            self._known[result_id] = (catalog.severity_for(result_id), catalog.controls_for(result_id))
        severity, controls = self._known[result_id]
        return severity, list(controls)


def _result(finding: Finding, metadata: _Metadata) -> Result:
    meta = metadata.catalog.policies.get(finding.id)
    severity, controls = metadata.of(finding.id)
    status = Status.SKIPPED if finding.skip else Status.PASSED if finding.passed else Status.FAILED
    return Result(
        id=finding.id,
        stage=STAGE,
        title=meta.title if meta else finding.title or finding.id,
        status=status,
        severity=severity,
        controls=controls,
        location=finding.location,
        message=f"{finding.resource}: {finding.message}" if finding.message else finding.resource,
        remediation=meta.remediation if meta else None,
        proven_on=finding.proven_on or None,
    )


def _waiver_failure(result_id: str, entry: str, message: str, options: PolicyOptions) -> Result:
    return Result(result_id, STAGE, "waivers are current and used", Status.FAILED, Severity.HIGH,
                  controls=["EU-C-GOV-01"], location=shown_path(options.waivers_file, options.root),
                  message=f"{entry}: {message}",
                  remediation="renew the waiver with a new approval, or remove it")


__all__ = ["PolicyStage", "build_results", "run_policy"]
