"""Monitoring and GitOps wiring: ServiceMonitors scrape something real; Argo CD applications are
confined to a project and keep the cluster equal to git."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harness.stages.policy.rules import Inputs, K8sDoc, Verdict, groups, rule, selector_matches


def _namespaces(monitor: K8sDoc) -> set[str] | None:
    """Namespaces a ServiceMonitor looks in; None = any."""
    selector = monitor.spec.get("namespaceSelector") or {}
    if selector.get("any"):
        return None
    return set(selector.get("matchNames") or []) or {monitor.namespace}


def _monitor_problem(monitor: K8sDoc, docs: list[K8sDoc]) -> str | None:
    scope = _namespaces(monitor)
    services = [d for d in docs if d.kind == "Service" and (scope is None or d.namespace in scope)
                and selector_matches(monitor.spec.get("selector"), _labels(d))]
    if not services:
        return "selector matches no Service"
    wanted = {str(e.get("port")) for e in monitor.spec.get("endpoints") or [] if e.get("port")}
    named = {str(p.get("name")) for s in services for p in s.spec.get("ports") or []}
    missing = sorted(wanted - named)
    return f"endpoint port(s) {missing} are not named on the selected Service(s)" if missing else None


def _labels(doc: K8sDoc) -> dict[str, str]:
    labels = doc.metadata.get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


@rule("EU-K8S-050", "ServiceMonitor selectors and ports match a Service")
def service_monitor_matches(inputs: Inputs) -> Iterator[Verdict]:
    for _, docs in groups(inputs):
        for monitor in (d for d in docs if d.kind == "ServiceMonitor"):
            yield Verdict(monitor, _monitor_problem(monitor, docs))


def _app_spec(doc: K8sDoc) -> dict[str, Any]:
    if doc.kind == "ApplicationSet":
        return ((doc.spec.get("template") or {}).get("spec")) or {}
    return doc.spec


def _applications(inputs: Inputs) -> Iterator[tuple[K8sDoc, dict[str, Any]]]:
    for doc in inputs.docs("Application", "ApplicationSet"):
        if doc.api_version.startswith("argoproj.io/"):
            yield doc, _app_spec(doc)


@rule("EU-K8S-060", "Argo CD applications are not in project default")
def app_project(inputs: Inputs) -> Iterator[Verdict]:
    for app, spec in _applications(inputs):
        project = spec.get("project") or "default"
        yield Verdict(app, "project 'default' may deploy anything anywhere" if project == "default" else None)


@rule("EU-K8S-061", "Argo CD applications sync automatically with prune and self-heal")
def app_auto_sync(inputs: Inputs) -> Iterator[Verdict]:
    for app, spec in _applications(inputs):
        automated = (spec.get("syncPolicy") or {}).get("automated")
        if not isinstance(automated, dict):
            yield Verdict(app, "syncPolicy.automated is not set: drift stays until someone syncs")
            continue
        missing = [k for k in ("prune", "selfHeal") if automated.get(k) is not True]
        yield Verdict(app, f"syncPolicy.automated lacks {missing}" if missing else None)
