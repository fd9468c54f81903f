"""Deploying the app's overlay on a cluster and reaching it from here, shared by kind and aws.

* :class:`Kubectl`: ``kubectl`` against one kubeconfig (never the user's default context).
* :func:`apply_overlay`: ``kubectl apply -k`` of a kustomization written into the run dir that
  takes ``manifests/overlays/<name>`` as its base and adds the target's own patches (e.g. where the
  in-cluster emulator is): the checkout is never written to.
* :func:`await_ready`: every Deployment ``Available`` and the Rollout ``Healthy`` (bounded), as
  ``kubectl wait`` and ``kubectl argo rollouts status`` judge them.
* :func:`forward`: ``kubectl port-forward --address 127.0.0.1``: the only way in, loopback only.
* :func:`create_users`: the app's ``migrate`` and ``create-user NAME`` run with ``kubectl exec`` in
  a worker pod (the reference app's process contract); the token is the last line of stdout.

Verified in the nightly workflow only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.errors import TargetError
from harness.services.process import ManagedProcess, free_port, port_is_open
from harness.targets.base import TestUser
from harness.targets.cluster.commands import run
from harness.targets.cluster.kube import KubeApis

APP_NAMESPACE = "easy-upload"


@dataclass(frozen=True, slots=True)
class Kubectl:
    """``kubectl --kubeconfig K`` with its output logged to ``log``."""

    kubeconfig: Path
    log: Path

    def __call__(self, *args: str, timeout_s: float = 300.0, stdin: str | None = None,
                 log_stdout: bool = True) -> str:
        return run(["kubectl", "--kubeconfig", str(self.kubeconfig), *args], log=self.log,
                   timeout_s=timeout_s, stdin=stdin, log_stdout=log_stdout)


def overlay_kustomization(overlay: Path, work: Path, patches: Sequence[dict[str, object]]) -> str:
    """A kustomization in ``work`` whose base is ``overlay`` plus ``patches`` (inline, per target).
    The base is a relative path: kustomize refuses an absolute one."""
    base = os.path.relpath(overlay.resolve(), work.resolve())
    doc: dict[str, object] = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                              "resources": [base]}
    if patches:
        doc["patches"] = list(patches)
    return yaml.safe_dump(doc, sort_keys=False)


def apply_overlay(kubectl: Kubectl, overlay: Path, work: Path, patches: Sequence[dict[str, object]]) -> None:
    work.mkdir(parents=True, exist_ok=True)
    (work / "kustomization.yaml").write_text(overlay_kustomization(overlay, work, patches), encoding="utf-8")
    kubectl("apply", "--server-side", "--force-conflicts", "-k", str(work), timeout_s=300)


def await_ready(kubectl: Kubectl, apis: KubeApis, *, timeout_s: float = 600.0) -> None:
    """Deployments Available, then the Rollout Healthy; a TargetError with the last phase when not."""
    deadline = time.monotonic() + timeout_s
    kubectl("-n", apis.namespace, "wait", "--for=condition=Available", "deployment", "--all",
            f"--timeout={int(timeout_s)}s", timeout_s=timeout_s + 30)
    phase = "Unknown"
    while time.monotonic() < deadline:
        status = apis.rollout("api").get("status") or {}
        phase = str(status.get("phase", "Unknown"))
        if phase == "Healthy":
            return
        time.sleep(2)
    raise TargetError(f"Rollout api not Healthy after {timeout_s:.0f}s (phase {phase})")


Forwarded = tuple[ManagedProcess, int]  # the port-forward process and its local port


def forward(kubectl: Kubectl, namespace: str, resource: str, remote: int, log: Path) -> Forwarded:
    """``kubectl port-forward`` of ``resource`` (e.g. ``svc/api``) to a free port on 127.0.0.1."""
    local = free_port()
    argv = ["kubectl", "--kubeconfig", str(kubectl.kubeconfig), "-n", namespace, "port-forward",
            "--address", "127.0.0.1", resource, f"{local}:{remote}"]
    process = ManagedProcess(f"port-forward {resource}", argv, log_path=log,
                             ready=lambda: port_is_open(local))
    process.start(timeout=60)
    return process, local


def create_users(
    kubectl: Kubectl, names: Sequence[str], secret: Callable[[str], None], namespace: str = APP_NAMESPACE
) -> list[TestUser]:
    """``migrate`` once, then ``create-user NAME`` per user, inside a worker pod; each token goes to
    ``secret`` (the run's redactor)."""
    app = ("-n", namespace, "exec", "deploy/worker", "-c", "worker", "--", "python", "-m", "easy_upload")
    kubectl(*app, "migrate", timeout_s=120)
    users = []
    for name in names:
        out = kubectl(*app, "create-user", name, timeout_s=60, log_stdout=False).strip().splitlines()
        if not out:
            raise TargetError(f"create-user {name}: printed no token")
        secret(out[-1].strip())  # redacted from every report and evidence file
        users.append(TestUser(name, out[-1].strip()))
    return users


__all__ = ["APP_NAMESPACE", "Kubectl", "apply_overlay", "await_ready", "create_users", "forward",
           "overlay_kustomization"]
