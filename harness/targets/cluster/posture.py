"""Observing a pod's real security posture from inside its container (a cluster driver fills
:attr:`~harness.targets.base.ReplicaStatus.security` with it).

Through pytest-testinfra's ``kubectl://POD?namespace=NS`` backend: ``id -u``, a write probe on
``/`` (removed again when it succeeds) and the ``CapEff`` mask of ``/proc/1/status``. Verified in
the nightly workflow only; here it is tested with fake testinfra hosts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from harness.targets.base import ContainerSecurity

ROFS_PROBE = "/.harness-rofs-probe"


class Host(Protocol):
    """The part of a testinfra host we use (a fake in unit tests)."""

    def run(self, command: str, *args: str) -> Any: ...


def observe_container(host: Host) -> ContainerSecurity:
    """The uid, root filesystem writability and effective capabilities the container runs with."""
    uid = host.run("id -u")
    probe = host.run(f"touch {ROFS_PROBE}")
    if probe.rc == 0:
        host.run(f"rm -f {ROFS_PROBE}")
    status = host.run("grep CapEff /proc/1/status")
    caps = status.stdout.split()[-1] if status.rc == 0 and status.stdout.split() else "?"
    text = uid.stdout.strip() if uid.rc == 0 else ""
    return ContainerSecurity(
        uid=int(text) if text.isdigit() else None, read_only_root=probe.rc != 0, effective_capabilities=caps
    )


def pod_host(pod: str, namespace: str, *, kubeconfig: str | None = None,
             container: str | None = None) -> Host:
    """A testinfra host that runs commands in ``pod`` through ``kubectl exec`` (with the run's own
    kubeconfig when given: a cluster target never uses the user's default context)."""
    import testinfra

    options = f"namespace={namespace}"
    options += f"&kubeconfig={kubeconfig}" if kubeconfig else ""
    options += f"&container={container}" if container else ""
    host: Host = testinfra.get_host(f"kubectl://{pod}?{options}")
    return host


def posture_probe(kubeconfig: Path) -> Callable[[str, str], ContainerSecurity]:
    """What :class:`~harness.targets.cluster.driver.ClusterControl` calls per new pod (the app
    container is the first one of our pods)."""
    return lambda pod, namespace: observe_container(pod_host(pod, namespace, kubeconfig=str(kubeconfig)))


__all__ = ["Host", "observe_container", "pod_host", "posture_probe"]
