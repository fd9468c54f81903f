"""What the platform measures of each pod: memory from ``metrics.k8s.io`` (metrics-server), cumulative
CPU seconds from each node's kubelet (``/metrics/resource``, through the API server's node proxy).

Both are read per call (no cache): the load stage samples replicas once a second and wants
fresh figures. A missing metrics-server is "not reported" (empty), never a made-up zero.
"""

from __future__ import annotations

from typing import Any

from harness.targets.cluster.kube import METRICS_GROUP, METRICS_VERSION, KubeApis, get
from harness.targets.cluster.pods import cpu_seconds


class Usage:
    """Resource usage of one namespace's pods as the platform reports it."""

    def __init__(self, apis: KubeApis) -> None:
        self.apis = apis

    def memory(self) -> dict[str, dict[str, Any]]:
        """Pod name -> its ``PodMetrics`` object; empty while metrics-server has nothing."""
        from kubernetes.client.exceptions import ApiException

        try:
            listing = self.apis.custom.list_namespaced_custom_object(
                METRICS_GROUP, METRICS_VERSION, self.apis.namespace, "pods")
        except ApiException as exc:
            if exc.status in (404, 503):  # metrics API not (yet) served
                return {}
            raise
        return {str(item["metadata"]["name"]): item for item in listing.get("items", [])}

    def cpu_seconds(self, pods: list[Any]) -> dict[tuple[str, str], float]:
        """``(pod, container) -> CPU seconds`` for ``pods``, one kubelet scrape per node they run on."""
        found: dict[tuple[str, str], float] = {}
        for node in sorted({str(n) for n in (get(p, "spec", "node_name") for p in pods) if n}):
            found.update(cpu_seconds(self.kubelet_resource_metrics(node), self.apis.namespace))
        return found

    def kubelet_resource_metrics(self, node: str) -> str:
        """``GET /api/v1/nodes/NODE/proxy/metrics/resource`` as text.

        Built with the client's own request serialisation (auth included) rather than
        ``connect_get_node_proxy_with_path``, which percent-encodes the ``/`` of the path.
        """
        client = self.apis.core.api_client
        request = client.param_serialize("GET", "/api/v1/nodes/{name}/proxy/metrics/resource",
                                         path_params={"name": node}, header_params={"Accept": "text/plain"},
                                         auth_settings=["BearerToken"])
        response = client.call_api(*request)
        if response.status != 200:
            from kubernetes.client.exceptions import ApiException

            raise ApiException(status=response.status, reason=f"kubelet metrics of node {node}")
        return bytes(response.read()).decode("utf-8", errors="replace")


__all__ = ["Usage"]
