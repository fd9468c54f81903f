"""Network isolation: each application namespace denies by default and opens exactly the paths the
platform needs (DNS out, ingress controller in, Prometheus in)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harness.stages.policy.rules import WORKLOAD_KINDS, Inputs, K8sDoc, Verdict, groups, rule

SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})


def _namespaces(docs: list[K8sDoc]) -> dict[str, K8sDoc]:
    """Namespaces that run workloads, each with the object a reviewer should look at."""
    found: dict[str, K8sDoc] = {}
    for doc in docs:
        if doc.kind in WORKLOAD_KINDS and doc.namespace not in SYSTEM_NAMESPACES:
            found.setdefault(doc.namespace, doc)
    for doc in docs:
        if doc.kind == "Namespace" and doc.name in found:
            found[doc.name] = doc
    return found


def _policies(docs: list[K8sDoc], namespace: str) -> list[dict[str, Any]]:
    return [d.spec for d in docs if d.kind == "NetworkPolicy" and d.namespace == namespace]


def _denies(spec: dict[str, Any], direction: str) -> bool:
    types = spec.get("policyTypes") or (["Ingress"] if direction == "Ingress" else [])
    return (spec.get("podSelector") or {}) == {} and direction in types and not spec.get(direction.lower())


def _default_deny(docs: list[K8sDoc], namespace: str) -> bool:
    specs = _policies(docs, namespace)
    return all(any(_denies(s, d) for s in specs) for d in ("Ingress", "Egress"))


def _namespaces_with_deny(inputs: Inputs) -> Iterator[tuple[K8sDoc, str, list[K8sDoc]]]:
    for _, docs in groups(inputs):
        for namespace, subject in _namespaces(docs).items():
            if _default_deny(docs, namespace):
                yield subject, namespace, docs


@rule("EU-K8S-030", "Every application namespace has a default-deny NetworkPolicy")
def default_deny(inputs: Inputs) -> Iterator[Verdict]:
    for _, docs in groups(inputs):
        for namespace, subject in _namespaces(docs).items():
            ok = _default_deny(docs, namespace)
            yield Verdict(subject, None if ok else f"namespace {namespace} has no NetworkPolicy with an "
                          "empty podSelector denying both Ingress and Egress")


def _peers_text(rule_: dict[str, Any], key: str) -> str:
    return repr(rule_.get(key) or []).lower()


def _rules(docs: list[K8sDoc], namespace: str, direction: str) -> list[dict[str, Any]]:
    return [r for s in _policies(docs, namespace) for r in s.get(direction) or [] if isinstance(r, dict)]


def _opens_dns(docs: list[K8sDoc], namespace: str) -> bool:
    for egress in _rules(docs, namespace, "egress"):
        if any(str(p.get("port")) in ("53", "dns") for p in egress.get("ports") or []):
            return True
    return False


def _opens_from(docs: list[K8sDoc], namespace: str, words: tuple[str, ...]) -> bool:
    return any(any(w in _peers_text(r, "from") for w in words) for r in _rules(docs, namespace, "ingress"))


@rule("EU-K8S-031", "Default-deny namespaces still allow DNS egress")
def dns_open(inputs: Inputs) -> Iterator[Verdict]:
    for subject, namespace, docs in _namespaces_with_deny(inputs):
        ok = _opens_dns(docs, namespace)
        yield Verdict(subject, None if ok else f"namespace {namespace} denies egress but opens no port 53")


@rule("EU-K8S-032", "Default-deny namespaces with an Ingress admit the ingress controller")
def ingress_controller_open(inputs: Inputs) -> Iterator[Verdict]:
    for subject, namespace, docs in _namespaces_with_deny(inputs):
        if any(d.kind == "Ingress" and d.namespace == namespace for d in docs):
            ok = _opens_from(docs, namespace, ("ingress",))
            yield Verdict(subject, None if ok else f"namespace {namespace} has an Ingress but no "
                          "NetworkPolicy admits traffic from the ingress controller")


@rule("EU-K8S-033", "Default-deny namespaces that are scraped admit Prometheus")
def prometheus_open(inputs: Inputs) -> Iterator[Verdict]:
    for subject, namespace, docs in _namespaces_with_deny(inputs):
        if any(d.kind in ("ServiceMonitor", "PodMonitor") and d.namespace == namespace for d in docs):
            ok = _opens_from(docs, namespace, ("prometheus", "monitoring"))
            yield Verdict(subject, None if ok else f"namespace {namespace} is scraped but no "
                          "NetworkPolicy admits Prometheus")
