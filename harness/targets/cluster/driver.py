"""The :class:`~harness.targets.base.Control` of a real cluster (kind, EKS), through the ``kubernetes``
client only. Verified in the nightly workflow only; tested here against the client's own models.

Write side, each the call kubectl or the Argo Rollouts plugin makes:

=====================  ===========================================================================
``scale(c, n)``        merge patch of the workload's ``scale`` subresource (Deployment: AppsV1;
                       Rollout: the CRD's scale subresource), as ``kubectl scale``
``kill(c, i)``         ``delete`` of the i-th pod (by name) with ``gracePeriodSeconds=0``
``deploy(v, canary)``  merge patch of the pod template (``APP_VERSION=v`` + settings as env); a
                       changed template is what starts an Argo canary. ``canary=False``: then
                       ``promote --full`` on the Rollout, and the worker Deployment rolls too
``promote(full)``      ``promote`` / ``promote --full`` patches (:mod:`.argo`, from promote.go)
``abort()``            ``{"status": {"abort": true}}`` (abort.go)
``set_weight(w)``      ``currentStepIndex`` of the first ``setWeight: w`` step (:mod:`.argo`)
``stop/start(d)``      scale the dependency's StatefulSet/Deployment to 0 and back
``restart(d)``         a dependency: delete its pods (its controller recreates them); a component:
                       ``spec.restartAt`` on the Rollout (plugin ``restart``), the
                       ``kubectl.kubernetes.io/restartedAt`` annotation on a Deployment
=====================  ===========================================================================

Read side: pods (:mod:`.pods`), HPA status and its ``SuccessfulRescale`` events, Rollout and
AnalysisRun objects (:class:`~harness.targets.cluster.observer.ClusterObserver`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harness.errors import TargetError
from harness.targets.base import AutoscalerStatus, ContainerSecurity, ReplicaStatus, RolloutStatus
from harness.targets.cluster import argo
from harness.targets.cluster.events import scale_events
from harness.targets.cluster.kube import ARGO_GROUP, ARGO_VERSION, MERGE_PATCH, KubeApis, get
from harness.targets.cluster.observer import ClusterObserver
from harness.targets.cluster.pods import replica_status
from harness.targets.cluster.usage import Usage


@dataclass(frozen=True, slots=True)
class Workload:
    """Where a component or dependency lives: ``kind`` is Rollout, Deployment or StatefulSet."""

    kind: str
    name: str
    namespace: str | None = None  # None: the driver's namespace
    selector: str = ""  # label selector of its pods; default app.kubernetes.io/name=<name>

    @property
    def pods(self) -> str:
        return self.selector or f"app.kubernetes.io/name={self.name}"


COMPONENTS = {"api": Workload("Rollout", "api"), "worker": Workload("Deployment", "worker")}
ROLLOUT = "api"
SecurityProbe = Callable[[str, str], ContainerSecurity]  # (pod, namespace) -> what the pod runs as


class ClusterControl:
    """One namespace of a real cluster, driven and observed through the Kubernetes API."""

    def __init__(self, apis: KubeApis, *, distribution: str, dependencies: Mapping[str, Workload],
                 components: Mapping[str, Workload] | None = None, security: SecurityProbe | None = None,
                 wait_s: float = 120.0) -> None:
        self.apis = apis
        self.distribution = distribution
        self.components = dict(components or COMPONENTS)
        self.dependencies = dict(dependencies)
        self.observer = ClusterObserver(apis.namespace, apis.autoscaling, apis.custom)
        self.usage = Usage(apis)
        self._security = security
        self._seen_security: dict[str, ContainerSecurity] = {}  # pod uid -> posture (fixed for its life)
        self._stopped: dict[str, int] = {}
        self._platform: str | None = None
        self.wait_s = wait_s

    @property
    def platform(self) -> str:
        """``kind v0.25.0 / Kubernetes v1.31.2``: the distribution and the API server's own version."""
        if self._platform is None:
            self._platform = f"{self.distribution} / Kubernetes {self.apis.version.get_code().git_version}"
        return self._platform

    @property
    def time_scale(self) -> float:
        return 1.0  # real controllers, real clocks

    # -- write side ------------------------------------------------------------------------------
    def deploy(self, version: str, *, canary: bool = True, settings: dict[str, str] | None = None) -> None:
        env = {"APP_VERSION": version, **(settings or {})}
        self._patch_template(self.components["api"], env, version)
        if canary:
            return
        self._patch_template(self.components["worker"], env, version)
        self._await(lambda r: get(r, "status", "currentPodHash") != get(r, "status", "stableRS"),
                    "the Rollout controller to see the new template")
        self._send(argo.promote_full(self.apis.rollout(ROLLOUT)))

    def set_weight(self, weight: int) -> None:
        try:
            self._send(argo.set_weight(self.apis.rollout(ROLLOUT), weight))
        except ValueError as exc:
            raise TargetError(f"set_weight({weight}): {exc}") from None

    def promote(self, *, full: bool = False) -> None:
        rollout = self.apis.rollout(ROLLOUT)
        self._send(argo.promote_full(rollout) if full else argo.promote(rollout))

    def abort(self) -> None:
        self._send(argo.abort())

    def scale(self, component: str, replicas: int) -> None:
        self._scale(self._component(component), replicas)

    def kill(self, component: str, replica: int) -> None:
        workload = self._component(component)
        pods = self.apis.pods(workload.pods)
        if not 0 <= replica < len(pods):
            raise TargetError(f"kill({component!r}, {replica}): {len(pods)} pod(s) running")
        self.apis.core.delete_namespaced_pod(pods[replica].metadata.name, self.apis.namespace,
                                             grace_period_seconds=0)

    def stop(self, dependency: str) -> None:
        workload = self._dependency(dependency)
        self._stopped[dependency] = self._replicas_of(workload) or 1
        self._scale(workload, 0)

    def start(self, dependency: str) -> None:
        self._scale(self._dependency(dependency), self._stopped.pop(dependency, 1))

    def restart(self, dependency: str) -> None:
        if dependency in self.components:
            return self._roll(self.components[dependency])
        workload = self._dependency(dependency)
        namespace = workload.namespace or self.apis.namespace
        for pod in self.apis.core.list_namespaced_pod(namespace, label_selector=workload.pods).items or []:
            self.apis.core.delete_namespaced_pod(pod.metadata.name, namespace)
        return None

    # -- read side -------------------------------------------------------------------------------
    def replicas(self, component: str) -> list[ReplicaStatus]:
        pods = [p for p in self.apis.pods(self._component(component).pods)
                if get(p, "status", "phase") == "Running"]
        memory, cpu = self.usage.memory(), self.usage.cpu_seconds(pods)
        return [replica_status(p, component, metrics=memory.get(p.metadata.name),
                               cpu=cpu.get((p.metadata.name, component)), security=self._posture(p))
                for p in pods]

    def autoscaler(self, component: str) -> AutoscalerStatus | None:
        from kubernetes.client.exceptions import ApiException

        try:
            status = self.observer.autoscaler(component)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return dataclasses.replace(status, events=scale_events(self.apis, component))

    def rollout(self) -> RolloutStatus:
        status = self.observer.rollout(ROLLOUT)
        versions = self._versions_by_hash()
        canary = status.canary_version
        stable = versions.get(status.stable_version, status.stable_version)
        return dataclasses.replace(status, stable_version=stable,
                                   canary_version=versions.get(canary, canary) if canary else None)

    # -- helpers ---------------------------------------------------------------------------------
    def _component(self, name: str) -> Workload:
        if name not in self.components:
            raise TargetError(f"unknown component {name!r} (expected one of {', '.join(self.components)})")
        return self.components[name]

    def _dependency(self, name: str) -> Workload:
        if name not in self.dependencies:
            known = ", ".join(self.dependencies) or "none: its dependencies are managed services"
            raise TargetError(f"{self.distribution}: cannot stop/start dependency {name!r} "
                              f"(in-cluster: {known})")
        return self.dependencies[name]

    def _send(self, patches: argo.Patches) -> None:
        if patches.status is not None:
            self.apis.patch_rollout(ROLLOUT, patches.status, status=True)
        if patches.spec is not None:
            self.apis.patch_rollout(ROLLOUT, patches.spec)

    def _scale(self, workload: Workload, replicas: int) -> None:
        body, ns = {"spec": {"replicas": replicas}}, workload.namespace or self.apis.namespace
        if workload.kind == "Rollout":
            self.apis.custom.patch_namespaced_custom_object_scale(
                ARGO_GROUP, ARGO_VERSION, ns, "rollouts", workload.name, body,
                _content_type=MERGE_PATCH)
        elif workload.kind == "StatefulSet":
            self.apis.apps.patch_namespaced_stateful_set_scale(workload.name, ns, body,
                                                               _content_type=MERGE_PATCH)
        else:
            self.apis.apps.patch_namespaced_deployment_scale(workload.name, ns, body,
                                                             _content_type=MERGE_PATCH)

    def _replicas_of(self, workload: Workload) -> int:
        ns = workload.namespace or self.apis.namespace
        read = (self.apis.apps.read_namespaced_stateful_set_scale if workload.kind == "StatefulSet"
                else self.apis.apps.read_namespaced_deployment_scale)
        return int(get(read(workload.name, ns), "spec", "replicas") or 0)

    def _patch_template(self, workload: Workload, env: dict[str, str], version: str) -> None:
        if workload.kind == "Rollout":
            current = self.apis.rollout(workload.name)
        else:
            current = self.apis.apps.read_namespaced_deployment(workload.name, self.apis.namespace).to_dict()
        containers = [_with_env(c, env) if c.get("name") == workload.name else c
                      for c in (get(current, "spec", "template", "spec", "containers") or [])]
        patch = {"spec": {"template": {"metadata": {"labels": {"app.kubernetes.io/version": version}},
                                       "spec": {"containers": containers}}}}
        if workload.kind == "Rollout":
            self.apis.patch_rollout(workload.name, patch)
        else:
            self.apis.apps.patch_namespaced_deployment(workload.name, self.apis.namespace, patch,
                                                       _content_type=MERGE_PATCH)

    def _roll(self, workload: Workload) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if workload.kind == "Rollout":
            self.apis.patch_rollout(workload.name, {"spec": {"restartAt": now}})
            return
        annotations = {"kubectl.kubernetes.io/restartedAt": now}
        patch = {"spec": {"template": {"metadata": {"annotations": annotations}}}}
        self.apis.apps.patch_namespaced_deployment(workload.name, self.apis.namespace, patch,
                                                   _content_type=MERGE_PATCH)

    def _await(self, done: Callable[[dict[str, Any]], bool], what: str) -> None:
        deadline = time.monotonic() + self.wait_s
        while not done(self.apis.rollout(ROLLOUT)):
            if time.monotonic() > deadline:
                raise TargetError(f"waited {self.wait_s:.0f}s for {what}")
            time.sleep(1.0)

    def _versions_by_hash(self) -> dict[str, str]:
        """``rollouts-pod-template-hash`` -> the version its pods run (APP_VERSION)."""
        found: dict[str, str] = {}
        for pod in self.apis.pods(self.components["api"].pods):
            template = (get(pod, "metadata", "labels") or {}).get("rollouts-pod-template-hash")
            if template:
                found.setdefault(template, replica_status(pod, "api").version)
        return found

    def _posture(self, pod: Any) -> ContainerSecurity | None:
        if self._security is None or get(pod, "metadata", "uid") is None:
            return None
        uid = str(pod.metadata.uid)
        if uid not in self._seen_security:
            self._seen_security[uid] = self._security(pod.metadata.name, self.apis.namespace)
        return self._seen_security[uid]


def _with_env(container: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """The container with ``env`` set (replacing entries of the same name, keeping the others)."""
    kept = [e for e in container.get("env") or [] if e.get("name") not in env]
    return {**container, "env": [*kept, *({"name": k, "value": v} for k, v in env.items())]}


__all__ = ["COMPONENTS", "ClusterControl", "SecurityProbe", "Workload"]
