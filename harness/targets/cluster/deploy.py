"""Deploying the app's overlay on a cluster and reaching it from here, shared by kind and aws.

* :class:`Kubectl`: ``kubectl`` against one kubeconfig (never the user's default context).
* :func:`prepare_overlay` / :func:`apply_overlay`: a kustomization written into the run dir that
  takes ``manifests/overlays/<name>`` as its base and adds the target's own patches (e.g. where the
  in-cluster emulator is) and images (kustomize's ``images:``, by the name the manifests use),
  rendered by the real kustomize, then ``kubectl apply -k``: the checkout is never written to.
  What a target needs to know of the app (its namespace, its secrets' keys) is read from that
  rendering (:func:`app_namespace`, :func:`seeded_secrets`), not declared a second time.
* :func:`await_ready`: every Deployment ``Available`` and the Rollout ``Healthy`` (bounded), as
  ``kubectl wait`` and ``kubectl argo rollouts status`` judge them.
* :func:`forward`: ``kubectl port-forward --address 127.0.0.1``: the only way in, loopback only.
* :func:`create_users`: the app's ``migrate`` and ``create-user NAME`` (``python -m <module>``, the
  app profile's ``processes.module``) run with ``kubectl exec`` in a worker pod; the token is the
  last line of stdout.

Verified in the nightly workflow only; the rendering and what is read from it are tested here.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.errors import TargetError
from harness.k8s import render_overlay
from harness.k8s.documents import Document
from harness.services.process import ManagedProcess, free_port, port_is_open
from harness.targets.base import TestUser
from harness.targets.cluster.commands import run
from harness.targets.cluster.kube import KubeApis


@dataclass(frozen=True, slots=True)
class Kubectl:
    """``kubectl --kubeconfig K`` with its output logged to ``log``."""

    kubeconfig: Path
    log: Path

    def __call__(self, *args: str, timeout_s: float = 300.0, stdin: str | None = None,
                 log_stdout: bool = True) -> str:
        return run(["kubectl", "--kubeconfig", str(self.kubeconfig), *args], log=self.log,
                   timeout_s=timeout_s, stdin=stdin, log_stdout=log_stdout)


def overlay_kustomization(overlay: Path, work: Path, patches: Sequence[dict[str, object]],
                          images: Mapping[str, str] | None = None) -> str:
    """A kustomization in ``work`` whose base is ``overlay`` plus ``patches`` (inline, per target) and
    ``images`` (name in the manifests -> ``repository:tag`` to run). The base is a relative path:
    kustomize refuses an absolute one."""
    base = os.path.relpath(overlay.resolve(), work.resolve())
    doc: dict[str, object] = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                              "resources": [base]}
    if patches:
        doc["patches"] = list(patches)
    if images:
        doc["images"] = [{"name": name, "newName": ref.rpartition(":")[0], "newTag": ref.rpartition(":")[2]}
                         for name, ref in images.items()]
    return yaml.safe_dump(doc, sort_keys=False)


def prepare_overlay(overlay: Path, work: Path, patches: Sequence[dict[str, object]],
                    images: Mapping[str, str] | None = None) -> list[Document]:
    """Write the run's kustomization into ``work`` and render it (a broken overlay fails here,
    before anything is created)."""
    work.mkdir(parents=True, exist_ok=True)
    text = overlay_kustomization(overlay, work, patches, images)
    (work / "kustomization.yaml").write_text(text, encoding="utf-8")
    return render_overlay(work)


def apply_overlay(kubectl: Kubectl, work: Path) -> None:
    kubectl("apply", "--server-side", "--force-conflicts", "-k", str(work), timeout_s=300)


def app_namespace(documents: Sequence[Document]) -> str:
    """The one namespace the rendered overlay puts the app's workloads (Rollout, Deployment) in."""
    found = {str(d.get("metadata", {}).get("namespace")) for d in documents
             if d.get("kind") in ("Rollout", "Deployment")}
    if len(found) != 1 or "None" in found:
        raise TargetError(f"the overlay must put the app's workloads in one namespace; found {sorted(found)}")
    return found.pop()


def passthrough_templates(documents: Sequence[Document], keys: Sequence[str]) -> list[dict[str, object]]:
    """Patches that make each ExternalSecret whose template sets one of ``keys`` pass the seeded
    value through (``{{ .KEY }}``). The overlay's templates build URLs from the fields a managed
    database's secret holds (user, password, host, TLS required); a target seeding whole settings
    for its own in-cluster dependencies (no TLS) hands those in as they are."""
    patches: list[dict[str, object]] = []
    for doc in (d for d in documents if d.get("kind") == "ExternalSecret"):
        data = _template_data(doc)
        ops = [{"op": "replace", "path": f"/spec/target/template/data/{key}", "value": f"{{{{ .{key} }}}}"}
               for key in data if key in keys]
        if ops:
            patches.append({"target": {"group": "external-secrets.io", "kind": "ExternalSecret",
                                       "name": doc["metadata"]["name"]}, "patch": json.dumps(ops)})
    return patches


def _template_data(external_secret: Document) -> dict[str, str]:
    """The keys an ExternalSecret's template sets and their templates (``{}`` without a template)."""
    spec = external_secret.get("spec") or {}
    return dict((spec.get("target", {}).get("template") or {}).get("data") or {})


def seeded_secrets(documents: Sequence[Document], settings: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """What to write to Secrets Manager so that the overlay's ExternalSecrets give the app
    ``settings`` (e.g. ``DATABASE_URL``): each extracted key -> the settings its template sets."""
    seeded: dict[str, dict[str, str]] = {}
    for doc in (d for d in documents if d.get("kind") == "ExternalSecret"):
        spec = doc.get("spec") or {}
        wanted = {k: settings[k] for k in _template_data(doc) if k in settings}
        keys = [(source.get("extract") or {}).get("key") for source in spec.get("dataFrom") or []]
        seeded.update({str(key): wanted for key in keys if key and wanted})
    return seeded


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


def create_users(kubectl: Kubectl, names: Sequence[str], secret: Callable[[str], None], *,
                 namespace: str, module: str) -> list[TestUser]:
    """``migrate`` once, then ``create-user NAME`` per user, inside a worker pod; each token goes to
    ``secret`` (the run's redactor)."""
    app = ("-n", namespace, "exec", "deploy/worker", "-c", "worker", "--", "python", "-m", module)
    kubectl(*app, "migrate", timeout_s=120)
    users = []
    for name in names:
        out = kubectl(*app, "create-user", name, timeout_s=60, log_stdout=False).strip().splitlines()
        if not out:
            raise TargetError(f"create-user {name}: printed no token")
        secret(out[-1].strip())  # redacted from every report and evidence file
        users.append(TestUser(name, out[-1].strip()))
    return users


__all__ = ["Kubectl", "app_namespace", "apply_overlay", "await_ready", "create_users", "forward",
           "overlay_kustomization", "passthrough_templates", "prepare_overlay", "seeded_secrets"]
