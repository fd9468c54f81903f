"""Argo Rollouts: a canary must be able to fail, must not wait forever where nobody promotes, and
must route through Services that select its pods."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harness.stages.policy.rules import Inputs, K8sDoc, Verdict, groups, pod_labels, rule, selector_matches


def _canaries(inputs: Inputs) -> Iterator[tuple[str, K8sDoc, dict[str, Any], list[K8sDoc]]]:
    for group, docs in groups(inputs):
        for doc in docs:
            canary = (doc.spec.get("strategy") or {}).get("canary")
            if doc.kind == "Rollout" and isinstance(canary, dict):
                yield group, doc, canary, docs


def _template_refs(canary: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = [canary.get("analysis") or {}]
    steps = canary.get("steps") or []
    blocks += [step["analysis"] for step in steps if isinstance(step.get("analysis"), dict)]
    return [t for block in blocks for t in block.get("templates") or []]


def _metric_can_fail(metric: dict[str, Any], dry_run: set[str]) -> bool:
    if metric.get("name") in dry_run or "*" in dry_run:
        return False
    if not (metric.get("successCondition") or metric.get("failureCondition")):
        return False
    limit, count = int(metric.get("failureLimit", 0)), metric.get("count")
    return limit >= 0 and not (count is not None and limit >= int(count))


def _template_problem(ref: dict[str, Any], rollout: K8sDoc, docs: list[K8sDoc]) -> str | None:
    kind = "ClusterAnalysisTemplate" if ref.get("clusterScope") else "AnalysisTemplate"
    name = ref.get("templateName")
    template = next((d for d in docs if d.kind == kind and d.name == name
                     and (kind.startswith("Cluster") or d.namespace == rollout.namespace)), None)
    if template is None:
        return f"{kind} {name} does not exist"
    dry_run = {str(d.get("metricName")) for d in template.spec.get("dryRun") or []}
    if not any(_metric_can_fail(m, dry_run) for m in template.spec.get("metrics") or []):
        return f"{kind} {name} has no metric that can fail (no condition, dry-run, or failureLimit >= count)"
    return None


@rule("EU-K8S-020", "Canary Rollouts run an analysis that can fail")
def canary_has_analysis(inputs: Inputs) -> Iterator[Verdict]:
    for _, rollout, canary, docs in _canaries(inputs):
        refs = _template_refs(canary)
        if not refs:
            yield Verdict(rollout, "canary has no analysis: a bad version is promoted automatically")
            continue
        problems = [p for p in (_template_problem(r, rollout, docs) for r in refs) if p]
        yield Verdict(rollout, "; ".join(problems) if problems else None)


@rule("EU-K8S-021", "No indefinite canary pauses in automated environments")
def no_indefinite_pause(inputs: Inputs) -> Iterator[Verdict]:
    manual = set(inputs.options.get("manual_environments", ("production",)))
    for group, rollout, canary, _ in _canaries(inputs):
        if group.rstrip("/").rsplit("/", 1)[-1] in manual:
            continue
        steps = [i for i, s in enumerate(canary.get("steps") or [])
                 if "pause" in s and not (s.get("pause") or {}).get("duration")]
        yield Verdict(rollout, f"step(s) {steps} pause without a duration; nobody promotes in "
                      f"{group}" if steps else None)


def _service_problem(role: str, name: str | None, rollout: K8sDoc, docs: list[K8sDoc]) -> str | None:
    if not name:
        return f"{role} is not set although traffic routing needs it"
    service = next((d for d in docs if d.kind == "Service" and d.name == name
                    and d.namespace == rollout.namespace), None)
    if service is None:
        return f"{role} {name} does not exist"
    if not selector_matches(service.spec.get("selector"), pod_labels(rollout)):
        return f"{role} {name} does not select the Rollout's pods"
    return None


@rule("EU-K8S-022", "Rollout stable and canary Services exist and select its pods")
def canary_services(inputs: Inputs) -> Iterator[Verdict]:
    for _, rollout, canary, docs in _canaries(inputs):
        needed = canary.get("trafficRouting") or canary.get("stableService") or canary.get("canaryService")
        if not needed:
            continue
        problems = [_service_problem(role, canary.get(role), rollout, docs)
                    for role in ("stableService", "canaryService")]
        found = [p for p in problems if p]
        yield Verdict(rollout, "; ".join(found) if found else None)
