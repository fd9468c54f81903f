"""checkov custom checks for Argo Rollouts pod templates, which checkov's built-in container
checks skip (they only know Deployment, StatefulSet, ... ). Metadata lives in controls.yaml."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


def _pod_spec(conf: dict[str, Any]) -> dict[str, Any] | None:
    template = (conf.get("spec") or {}).get("template")
    if not isinstance(template, dict):
        return None  # workloadRef: the referenced Deployment is checked by checkov itself
    spec = template.get("spec")
    return spec if isinstance(spec, dict) else None


def _containers(spec: dict[str, Any], init: bool) -> list[dict[str, Any]]:
    keys = ("containers", "initContainers") if init else ("containers",)
    return [c for k in keys for c in spec.get(k) or [] if isinstance(c, dict)]


class _RolloutCheck(BaseK8Check):
    def __init__(self, name: str, check_id: str) -> None:
        super().__init__(name=name, id=check_id, categories=[CheckCategories.KUBERNETES],
                         supported_entities=["Rollout"])

    def get_resource_id(self, conf: dict[str, Any]) -> str:
        meta = conf.get("metadata") or {}
        return f"Rollout.{meta.get('namespace', 'default')}.{meta.get('name')}"

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        spec = _pod_spec(conf)
        if spec is None:
            return CheckResult.UNKNOWN
        return CheckResult.PASSED if self.pod_ok(spec) else CheckResult.FAILED

    def pod_ok(self, spec: dict[str, Any]) -> bool:
        raise NotImplementedError


class RolloutSecurityContext(_RolloutCheck):
    def __init__(self) -> None:
        super().__init__("Rollout containers run unprivileged, non-root, read-only, without capabilities",
                         "EU-K8S-001")

    def pod_ok(self, spec: dict[str, Any]) -> bool:
        if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
            return False
        pod_ctx = spec.get("securityContext") or {}
        return all(self._container_ok(c, pod_ctx) for c in _containers(spec, init=True))

    @staticmethod
    def _container_ok(container: dict[str, Any], pod_ctx: dict[str, Any]) -> bool:
        ctx = container.get("securityContext") or {}
        drops = [str(d).upper() for d in (ctx.get("capabilities") or {}).get("drop") or []]
        non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")) is True
        return (ctx.get("privileged") is not True and ctx.get("allowPrivilegeEscalation") is False
                and non_root and ctx.get("readOnlyRootFilesystem") is True and "ALL" in drops
                and not (ctx.get("capabilities") or {}).get("add"))


class RolloutProbes(_RolloutCheck):
    def __init__(self) -> None:
        super().__init__("Rollout containers have readiness and liveness probes", "EU-K8S-002")

    def pod_ok(self, spec: dict[str, Any]) -> bool:
        return all(c.get("readinessProbe") and c.get("livenessProbe") for c in _containers(spec, init=False))


class RolloutResources(_RolloutCheck):
    def __init__(self) -> None:
        super().__init__("Rollout containers request CPU and memory and limit memory", "EU-K8S-003")

    def pod_ok(self, spec: dict[str, Any]) -> bool:
        for container in _containers(spec, init=True):
            res = container.get("resources") or {}
            requests, limits = res.get("requests") or {}, res.get("limits") or {}
            if not (requests.get("cpu") and requests.get("memory") and limits.get("memory")):
                return False
        return True


class RolloutImageDigest(_RolloutCheck):
    def __init__(self) -> None:
        super().__init__("Rollout images are pinned by digest", "EU-K8S-004")

    def pod_ok(self, spec: dict[str, Any]) -> bool:
        return all("@sha256:" in str(c.get("image", "")) for c in _containers(spec, init=True))


security_check = RolloutSecurityContext()
digest_check = RolloutImageDigest()
probes_check = RolloutProbes()
resources_check = RolloutResources()
