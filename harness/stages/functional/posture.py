"""Runtime posture: what is really listening, and what replicas really run as.

* ``listening``: every TCP socket this run's processes listen on is bound to loopback. Ownership
  comes from psutil (the environment's processes are descendants of this one: the check applies
  where the Control reports replicas as processes of this host, i.e. with a ``pid``), addresses from
  testinfra's ``socket`` module (``ss``/``netstat``) -- neither is the target's own bookkeeping.
* ``pods``: each replica is non-root, with a read-only root filesystem and no effective
  capabilities, as the manifests promise; judged on the posture the platform observed inside each
  container (:attr:`~harness.targets.base.ReplicaStatus.security`). A platform that runs no
  container around its replicas has none to observe: the step is skipped, saying so.
"""

from __future__ import annotations

from typing import Any

from harness.stages.functional.context import Context, StepFailed, StepSkipped
from harness.targets.base import ContainerSecurity, Control, ReplicaStatus

LOOPBACK = ("127.0.0.1", "::1")
COMPONENTS = ("api", "worker")


def own_listening_ports(pid: int | None = None) -> dict[int, int]:
    """port -> pid for every TCP socket listened on by ``pid`` (default: us) and its descendants."""
    import os

    import psutil

    me = psutil.Process(pid or os.getpid())
    pids = {me.pid} | {p.pid for p in me.children(recursive=True)}
    found: dict[int, int] = {}
    for conn in psutil.net_connections(kind="inet"):
        if conn.status == psutil.CONN_LISTEN and conn.pid in pids and conn.laddr:
            found[int(conn.laddr[1])] = int(conn.pid or 0)
    return found


def listening_addresses(host: Any) -> dict[int, set[str]]:
    """port -> addresses listened on, from testinfra (``ss``/``netstat`` on the host)."""
    by_port: dict[int, set[str]] = {}
    for spec in host.socket.get_listening_sockets():
        if not spec.startswith(("tcp://", "tcp6://")):
            continue
        address, _, port = spec.split("://", 1)[1].rpartition(":")
        by_port.setdefault(int(port), set()).add(address.strip("[]"))
    return by_port


def exposed(ports: dict[int, int], addresses: dict[int, set[str]]) -> list[str]:
    """Our ports that listen on anything but loopback."""
    return [f"port {port} (pid {pid}) listens on {', '.join(sorted(addresses[port] - set(LOOPBACK)))}"
            for port, pid in sorted(ports.items()) if addresses.get(port, set()) - set(LOOPBACK)]


def local_listening(host: Any | None = None) -> dict[str, Any]:
    import testinfra

    host = host or testinfra.get_host("local://")
    ports = own_listening_ports()
    problems = exposed(ports, listening_addresses(host))
    if problems:
        raise StepFailed("listening beyond loopback: " + "; ".join(problems))
    return {"ports": sorted(ports), "checked": len(ports)}


def still_listening(ports: set[int], host: Any | None = None) -> list[int]:
    """Those of ``ports`` something still listens on (after ``down()`` this must be empty)."""
    import testinfra

    host = host or testinfra.get_host("local://")
    return sorted(set(listening_addresses(host)) & ports)


def security_problems(name: str, security: ContainerSecurity) -> list[str]:
    """Non-root, read-only root filesystem, no effective capabilities: one message per breach."""
    problems = []
    if security.uid is None or security.uid == 0:
        problems.append(f"{name}: runs as uid {'?' if security.uid is None else 0} (expected non-root)")
    if not security.read_only_root:
        problems.append(f"{name}: root filesystem is writable (expected readOnlyRootFilesystem)")
    if security.effective_capabilities.strip("0") != "":
        problems.append(f"{name}: effective capabilities {security.effective_capabilities} (expected none)")
    return problems


def pod_posture(replicas: list[ReplicaStatus], platform: str) -> dict[str, Any]:
    """Judge every replica's observed container posture; skipped where the platform has none."""
    observed = [r for r in replicas if r.security is not None]
    if not replicas:
        raise StepFailed("no running replicas to inspect")
    if not observed:
        raise StepSkipped(f"{platform} runs no container around its replicas: no pod security "
                          "context to observe")
    problems = [p for r in observed if r.security for p in security_problems(r.name, r.security)]
    if problems:
        raise StepFailed("pod posture: " + "; ".join(problems))
    return {"pods": [r.name for r in observed]}


def _replicas(control: Control) -> list[ReplicaStatus]:
    return [r for component in COMPONENTS for r in control.replicas(component)]


def posture_step(ctx: Context, spec: dict[str, Any], expect: dict[str, Any]) -> dict[str, Any]:
    if ctx.env.control is None:
        raise StepSkipped(f"needs the control handle (target {ctx.env.target!r} has none)")
    control, check = ctx.env.control, spec.get("check", "listening")
    replicas = _replicas(control)
    if check == "pods":
        return pod_posture(replicas, control.platform)
    if not any(r.pid is not None for r in replicas):
        raise StepSkipped(f"{control.platform} does not run the replicas as processes of this host: "
                          "their sockets are not ours to list")
    found = local_listening()
    beyond = [f"{r.name} listens on {a}" for r in replicas for a in r.listening if a.rpartition(":")[0]
              .strip("[]") not in LOOPBACK]
    if beyond:
        raise StepFailed("listening beyond loopback: " + "; ".join(beyond))
    return found


__all__ = ["exposed", "listening_addresses", "local_listening", "own_listening_ports", "pod_posture",
           "posture_step", "security_problems", "still_listening"]
