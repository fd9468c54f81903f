"""The Kubernetes APIs a cluster driver uses, built once from a kubeconfig (or injected in tests).

Every call goes through the ``kubernetes`` client's typed APIs; a merge patch is sent as
``application/merge-patch+json`` explicitly (the client's default for a dict body would be a JSON
patch), which is what ``kubectl patch --type merge`` and the Argo Rollouts plugin send.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MERGE_PATCH = "application/merge-patch+json"
ARGO_GROUP, ARGO_VERSION = "argoproj.io", "v1alpha1"
METRICS_GROUP, METRICS_VERSION = "metrics.k8s.io", "v1beta1"


@dataclass(frozen=True, slots=True)
class KubeApis:
    """One namespace's view of a cluster through the client's typed APIs (all on one ApiClient)."""

    namespace: str
    core: Any  # CoreV1Api
    apps: Any  # AppsV1Api
    autoscaling: Any  # AutoscalingV2Api
    custom: Any  # CustomObjectsApi
    version: Any  # VersionApi

    @classmethod
    def from_client(cls, namespace: str, api_client: Any) -> KubeApis:
        """All APIs over ``api_client`` (a real one, or a test double answering recorded JSON)."""
        from kubernetes import client

        return cls(namespace, client.CoreV1Api(api_client), client.AppsV1Api(api_client),
                   client.AutoscalingV2Api(api_client), client.CustomObjectsApi(api_client),
                   client.VersionApi(api_client))

    @classmethod
    def from_kubeconfig(cls, namespace: str, *, path: str | None = None,
                        context: str | None = None) -> KubeApis:
        from kubernetes import client, config

        api_client = config.new_client_from_config(config_file=path, context=context)  # type: ignore[no-untyped-call]
        if not isinstance(api_client, client.ApiClient):
            raise TypeError("kubeconfig did not yield an ApiClient")
        return cls.from_client(namespace, api_client)

    # -- the calls more than one module makes -----------------------------------------------------
    def rollout(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.custom.get_namespaced_custom_object(
            ARGO_GROUP, ARGO_VERSION, self.namespace, "rollouts", name)
        return found

    def patch_rollout(self, name: str, patch: dict[str, Any], *, status: bool = False) -> None:
        """A merge patch of the Rollout, of its status subresource when ``status``."""
        call = (self.custom.patch_namespaced_custom_object_status if status
                else self.custom.patch_namespaced_custom_object)
        call(ARGO_GROUP, ARGO_VERSION, self.namespace, "rollouts", name, patch, _content_type=MERGE_PATCH)

    def pods(self, selector: str) -> list[Any]:
        """Pods matching a label selector, sorted by name (so ``kill(component, i)`` is stable)."""
        items = self.core.list_namespaced_pod(self.namespace, label_selector=selector).items or []
        return sorted(items, key=lambda p: p.metadata.name)


def get(obj: Any, *path: str) -> Any:
    """Walk attributes (client models) or keys (dicts) alike; None when absent."""
    for key in path:
        if obj is None:
            return None
        obj = obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)
    return obj


__all__ = ["ARGO_GROUP", "ARGO_VERSION", "MERGE_PATCH", "METRICS_GROUP", "METRICS_VERSION", "KubeApis", "get"]
