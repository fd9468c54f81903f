"""A pod as the protocol's :class:`~harness.targets.base.ReplicaStatus`: observed, not intended.

* ``ready``: the pod's ``Ready`` condition; ``track``: the ``role`` label Argo Rollouts puts on
  canary/stable pods (``canaryMetadata``/``stableMetadata`` of the Rollout);
  ``version``: ``APP_VERSION`` of the app container (what the app reports), else the image tag.
* ``listening``: ``podIP:containerPort`` of every declared TCP port.
* ``memory_bytes``: the container's working set from ``metrics.k8s.io`` (metrics-server);
  ``cpu_seconds``: cumulative ``container_cpu_usage_seconds_total`` from the kubelet's
  ``/metrics/resource`` (through the API server's node proxy). Both are the platform's
  measurements, independent of the app's own /metrics.
* ``limits``/``requests``: the declared resources (bytes, cores).
"""

from __future__ import annotations

import re
from typing import Any

from harness.targets.base import ContainerSecurity, ReplicaStatus
from harness.targets.cluster.kube import get

_SAMPLE = re.compile(r'^container_cpu_usage_seconds_total\{([^}]*)\}\s+(\S+)', re.MULTILINE)
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def quantity(text: Any) -> float:
    """A Kubernetes quantity (``250m``, ``512Mi``) as a float (cores, bytes)."""
    from kubernetes.utils import parse_quantity

    return float(parse_quantity(str(text)))  # type: ignore[no-untyped-call]


def _resources(container: Any, kind: str) -> dict[str, float]:
    given = get(container, "resources", kind) or {}
    return {str(k): quantity(v) for k, v in given.items()}


def _version(container: Any) -> str:
    for env in get(container, "env") or []:
        if get(env, "name") == "APP_VERSION" and get(env, "value"):
            return str(get(env, "value"))
    image = str(get(container, "image") or "")
    return image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else image


def is_ready(pod: Any) -> bool:
    return any(get(c, "type") == "Ready" and get(c, "status") == "True"
               for c in get(pod, "status", "conditions") or [])


def pod_memory(metrics: dict[str, Any] | None, container: str) -> int | None:
    """Working-set bytes of ``container`` in a ``PodMetrics`` object (None when not reported)."""
    for entry in (metrics or {}).get("containers") or []:
        if entry.get("name") == container and (entry.get("usage") or {}).get("memory"):
            return int(quantity(entry["usage"]["memory"]))
    return None


def cpu_seconds(kubelet_text: str, namespace: str) -> dict[tuple[str, str], float]:
    """``(pod, container) -> cumulative CPU seconds`` from a kubelet's ``/metrics/resource`` text."""
    found: dict[tuple[str, str], float] = {}
    for labels, value in _SAMPLE.findall(kubelet_text):
        seen = dict(_LABEL.findall(labels))
        if seen.get("namespace") == namespace:
            found[(seen.get("pod", ""), seen.get("container", ""))] = float(value)
    return found


def replica_status(pod: Any, component: str, *, metrics: dict[str, Any] | None = None,
                   cpu: float | None = None, security: ContainerSecurity | None = None) -> ReplicaStatus:
    """The replica ``pod`` is, with its app container named after ``component`` (else the first)."""
    containers = get(pod, "spec", "containers") or []
    first = containers[0] if containers else None
    container = next((c for c in containers if get(c, "name") == component), first)
    pod_ip = get(pod, "status", "pod_ip")
    ports = [p for p in get(container, "ports") or [] if (get(p, "protocol") or "TCP") == "TCP"]
    name = str(get(container, "name") or component)
    return ReplicaStatus(
        component=component,
        name=str(get(pod, "metadata", "name")),
        version=_version(container),
        track=str((get(pod, "metadata", "labels") or {}).get("role") or "stable"),
        ready=is_ready(pod),
        listening=tuple(f"{pod_ip}:{get(p, 'container_port')}" for p in ports) if pod_ip else (),
        memory_bytes=pod_memory(metrics, name),
        cpu_seconds=cpu,
        limits=_resources(container, "limits"),
        requests=_resources(container, "requests"),
        security=security,
    )


__all__ = ["cpu_seconds", "is_ready", "pod_memory", "quantity", "replica_status"]
