"""What the manifests' ServiceMonitors and PodMonitors make Prometheus scrape, for local replicas.

In a cluster, prometheus-operator turns each monitor into a scrape job whose relabelling gives every
target ``namespace``, ``service`` (ServiceMonitor), ``pod``, ``container``, ``endpoint`` (the port
name) and ``job`` (the Service's name for a ServiceMonitor without ``jobLabel``; ``<namespace>/<name>``
for a PodMonitor), plus each ``podTargetLabels`` entry copied from the pod with its name sanitised
(``rollouts-pod-template-hash`` -> ``rollouts_pod_template_hash``); see prometheus-operator's
``pkg/prometheus/promcfg.go`` (generateServiceMonitorConfig / generatePodMonitorConfig). Argo Rollouts
adds ``rollouts-pod-template-hash`` and the ``canaryMetadata``/``stableMetadata`` labels to the pods,
points ``stableService`` at the stable pods and ``canaryService`` at the canary's (at the stable pods
when no canary runs). :class:`ScrapeSpec` reads all of that from the rendered documents and
:meth:`ScrapeSpec.targets` labels the local replicas the same way, for a file-SD file, so that the
AnalysisTemplates' and PrometheusRules' selectors match unchanged. The version stands for the hash.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from harness.k8s.documents import name_of
from harness.k8s.specs import WORKLOAD_KINDS, parse_duration
from harness.services.prometheus import Target
from harness.targets.local.cluster.inputs import ReplicaInfo

Doc = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Monitor:
    """One monitor as it applies to one workload's pods."""

    kind: str  # ServiceMonitor | PodMonitor
    name: str
    namespace: str
    workload: str
    services: tuple[str, ...]  # ServiceMonitor: the Services it selects that route to the workload
    port: str
    path: str
    interval_s: float | None
    pod_target_labels: tuple[str, ...]
    container: str


@dataclass(frozen=True, slots=True)
class ScrapeSpec:
    """The manifests' monitors, the pods' labels and the Rollout's Services."""

    monitors: tuple[Monitor, ...]
    pod_labels: Mapping[str, Mapping[str, str]]  # workload -> pod template labels
    hash_label: Mapping[str, str]  # workload -> rollouts-pod-template-hash | pod-template-hash
    track_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # track -> labels
    rollout_services: Mapping[str, str] = field(default_factory=dict)  # stable|canary -> Service

    @classmethod
    def from_documents(cls, documents: Sequence[Doc]) -> ScrapeSpec:
        workloads = [d for d in documents if d.get("kind") in WORKLOAD_KINDS]
        services = [d for d in documents if d.get("kind") == "Service"]
        monitors = [m for d in documents for m in _monitors(d, workloads, services)]
        rollout = next((d for d in workloads if d.get("kind") == "Rollout"), None)
        canary = (rollout or {}).get("spec", {}).get("strategy", {}).get("canary") or {}
        return cls(
            monitors=tuple(monitors),
            pod_labels={name_of(w): _template_labels(w) for w in workloads},
            hash_label={name_of(w): "rollouts-pod-template-hash" if w.get("kind") == "Rollout"
                        else "pod-template-hash" for w in workloads},
            track_labels={track: dict((canary.get(f"{track}Metadata") or {}).get("labels") or {})
                          for track in ("stable", "canary")},
            rollout_services={track: str(canary[f"{track}Service"]) for track in ("stable", "canary")
                              if canary.get(f"{track}Service")},
        )

    @property
    def interval_s(self) -> float | None:
        """The shortest interval any monitor asks for (None: Prometheus' default)."""
        intervals = [m.interval_s for m in self.monitors if m.interval_s]
        return min(intervals) if intervals else None

    def targets(self, replicas: Sequence[ReplicaInfo]) -> list[Target]:
        """Every (address, labels) Prometheus would scrape for ``replicas``."""
        canary_running = any(r.track == "canary" for r in replicas)
        return [target for replica in replicas for monitor in self.monitors
                if monitor.workload == replica.component
                for target in self._targets(monitor, replica, canary_running)]

    def _targets(self, monitor: Monitor, replica: ReplicaInfo, canary_running: bool) -> list[Target]:
        address = urlsplit(replica.metrics_url).netloc
        pod = self._pod_labels(replica)
        common = {
            "__metrics_path__": monitor.path, "namespace": monitor.namespace,
            "pod": f"{replica.component}-{replica.version}-{address.rsplit(':', 1)[-1]}",
            "container": monitor.container, "endpoint": monitor.port,
            **{_sanitise(k): pod[k] for k in monitor.pod_target_labels if k in pod},
        }
        if monitor.kind == "PodMonitor":
            return [(address, {**common, "job": f"{monitor.namespace}/{monitor.name}"})]
        return [(address, {**common, "service": s, "job": s})
                for s in monitor.services if self._routes(s, replica.track, canary_running)]

    def _pod_labels(self, replica: ReplicaInfo) -> dict[str, str]:
        labels = dict(self.pod_labels.get(replica.component, {}))
        labels[self.hash_label.get(replica.component, "pod-template-hash")] = replica.version
        if replica.component in self._rollout_workloads():
            labels.update(self.track_labels.get(replica.track, {}))
        return labels

    def _rollout_workloads(self) -> set[str]:
        return {w for w, label in self.hash_label.items() if label == "rollouts-pod-template-hash"}

    def _routes(self, service: str, track: str, canary_running: bool) -> bool:
        """Whether ``service`` has a pod of ``track`` among its endpoints (Argo's selector rewrite)."""
        if service == self.rollout_services.get("stable"):
            return track == "stable"
        if service == self.rollout_services.get("canary"):
            return track == "canary" or not canary_running
        return True


def _monitors(doc: Doc, workloads: Sequence[Doc], services: Sequence[Doc]) -> list[Monitor]:
    kind = doc.get("kind")
    if kind not in ("ServiceMonitor", "PodMonitor"):
        return []
    spec = doc.get("spec") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    endpoints = spec.get("endpoints" if kind == "ServiceMonitor" else "podMetricsEndpoints") or [{}]
    found = []
    for workload in workloads:
        pod = _template_labels(workload)
        if kind == "PodMonitor":
            routed = [] if not _matches(selector, pod) else [""]
        else:
            routed = [name_of(s) for s in services if _matches(selector, _labels(s))
                      and _matches((s.get("spec") or {}).get("selector") or {}, pod)]
        if not routed:
            continue
        for endpoint in endpoints:
            port = str(endpoint.get("port", ""))
            namespace = str(doc.get("metadata", {}).get("namespace", "default"))
            found.append(Monitor(
                str(kind), name_of(doc), namespace, name_of(workload),
                tuple(s for s in routed if s), port, str(endpoint.get("path", "/metrics")),
                parse_duration(endpoint.get("interval")), tuple(spec.get("podTargetLabels") or ()),
                _container(workload, port),
            ))
    return found


def _container(workload: Doc, port: str) -> str:
    containers = workload.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or [{}]
    for container in containers:
        if any(p.get("name") == port for p in container.get("ports") or []):
            return str(container.get("name", ""))
    return str(containers[0].get("name", ""))


def _template_labels(workload: Doc) -> dict[str, str]:
    return dict(workload.get("spec", {}).get("template", {}).get("metadata", {}).get("labels") or {})


def _labels(doc: Doc) -> dict[str, str]:
    return dict(doc.get("metadata", {}).get("labels") or {})


def _matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())



def _sanitise(label: str) -> str:
    """Prometheus' label-name sanitising (``strutil.SanitizeLabelName``): invalid characters -> ``_``."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", label)


__all__ = ["Monitor", "ScrapeSpec"]
