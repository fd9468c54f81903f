"""Autoscaling and disruption: HPAs point at real workloads that leave replicas to them, keep two
replicas, and a PodDisruptionBudget still lets a node drain."""

from __future__ import annotations

import math
from collections.abc import Iterator

from harness.stages.policy.rules import (
    WORKLOAD_KINDS,
    Inputs,
    K8sDoc,
    Verdict,
    groups,
    pod_labels,
    rule,
    selector_matches,
)


def _target(hpa: K8sDoc, docs: list[K8sDoc]) -> K8sDoc | None:
    ref = hpa.spec.get("scaleTargetRef") or {}
    return next((d for d in docs if d.kind == ref.get("kind") and d.name == ref.get("name")
                 and d.namespace == hpa.namespace), None)


def _hpas(inputs: Inputs) -> Iterator[tuple[K8sDoc, K8sDoc | None, list[K8sDoc]]]:
    for _, docs in groups(inputs):
        for hpa in (d for d in docs if d.kind == "HorizontalPodAutoscaler"):
            yield hpa, _target(hpa, docs), docs


@rule("EU-K8S-010", "HPA scale target resolves to a workload")
def hpa_target_resolves(inputs: Inputs) -> Iterator[Verdict]:
    for hpa, target, _ in _hpas(inputs):
        ref = hpa.spec.get("scaleTargetRef") or {}
        wrong_kind = ref.get("kind") not in WORKLOAD_KINDS
        problem = None if target is not None and not wrong_kind else (
            f"scaleTargetRef {ref.get('kind')}/{ref.get('name')} does not exist in namespace {hpa.namespace}")
        yield Verdict(hpa, problem)


@rule("EU-K8S-011", "HPA targets leave replicas to the autoscaler")
def hpa_target_no_replicas(inputs: Inputs) -> Iterator[Verdict]:
    for hpa, target, _ in _hpas(inputs):
        if target is not None:
            fixed = "replicas" in target.spec
            yield Verdict(target, f"sets spec.replicas={target.spec.get('replicas')} while HPA {hpa.name} "
                          "scales it; every sync resets the scale" if fixed else None)


@rule("EU-K8S-012", "HPA keeps at least two replicas")
def hpa_min_two(inputs: Inputs) -> Iterator[Verdict]:
    for hpa, _, _ in _hpas(inputs):
        low = int(hpa.spec.get("minReplicas", 1)) < 2
        yield Verdict(hpa, f"minReplicas={hpa.spec.get('minReplicas', 1)} (< 2)" if low else None)


def _allows_eviction(pdb: K8sDoc, replicas: int) -> bool:
    spec = pdb.spec
    if "maxUnavailable" in spec:
        value = str(spec["maxUnavailable"])
        return float(value.rstrip("%")) > 0
    value = str(spec.get("minAvailable", 1))
    needed = math.ceil(replicas * float(value[:-1]) / 100) if value.endswith("%") else int(value)
    return needed < replicas


@rule("EU-K8S-013", "Autoscaled workloads have a PodDisruptionBudget that allows an eviction")
def hpa_has_pdb(inputs: Inputs) -> Iterator[Verdict]:
    for hpa, target, docs in _hpas(inputs):
        if target is None:
            continue
        labels = pod_labels(target)
        pdbs = [d for d in docs if d.kind == "PodDisruptionBudget" and d.namespace == target.namespace
                and selector_matches(d.spec.get("selector"), labels)]
        replicas = int(hpa.spec.get("minReplicas", 1))
        if not pdbs:
            yield Verdict(hpa, f"no PodDisruptionBudget selects the pods of {target.kind}/{target.name}")
        elif not any(_allows_eviction(p, replicas) for p in pdbs):
            yield Verdict(pdbs[0], f"at minReplicas={replicas} this budget allows no eviction; "
                          "node drains would block")
        else:
            yield Verdict(hpa)
