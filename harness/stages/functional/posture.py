"""Runtime posture with pytest-testinfra: what is really listening, what pods really run as.

* local: every socket our environment's processes listen on is bound to loopback, and (after
  ``down()``) none of them is left listening; ownership comes from psutil (the target's processes
  are our descendants), addresses from testinfra's ``socket`` module.
* kind/aws: through testinfra's ``kubectl://POD?namespace=NS`` backend, each running pod is non-root,
  has a read-only root filesystem and no effective capabilities, as the manifests promise.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any, Protocol

from harness.stages.functional.context import Context, StepFailed, StepSkipped

LOOPBACK = ("127.0.0.1", "::1")


class Host(Protocol):
    """The part of a testinfra host we use (a fake in unit tests)."""

    def run(self, command: str, *args: str) -> Any: ...


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


def pod_problems(host: Host, pod: str) -> list[str]:
    """Non-root, read-only root filesystem, no effective capabilities, for one pod's container."""
    problems = []
    uid = host.run("id -u")
    if uid.rc != 0 or uid.stdout.strip() == "0":
        problems.append(f"{pod}: runs as uid {uid.stdout.strip() or '?'} (expected non-root)")
    probe = host.run("touch /.harness-rofs-probe")
    if probe.rc == 0:
        problems.append(f"{pod}: root filesystem is writable (expected readOnlyRootFilesystem)")
        host.run("rm -f /.harness-rofs-probe")
    status = host.run("grep CapEff /proc/1/status")
    caps = status.stdout.split()[-1] if status.rc == 0 and status.stdout.split() else "?"
    if caps.strip("0") != "":
        problems.append(f"{pod}: effective capabilities {caps} (expected none)")
    return problems


def running_pods(namespace: str) -> list[str]:
    out = subprocess.run(["kubectl", "get", "pods", "-n", namespace, "-o", "json"], capture_output=True,
                         text=True, timeout=30, check=True).stdout
    items = json.loads(out).get("items", [])
    return [i["metadata"]["name"] for i in items if i.get("status", {}).get("phase") == "Running"]


def kube_pods(namespace: str, hosts: dict[str, Host] | None = None) -> dict[str, Any]:
    import testinfra

    pods = list(hosts) if hosts is not None else running_pods(namespace)
    problems: list[str] = []
    for pod in pods:
        host = hosts[pod] if hosts is not None else testinfra.get_host(f"kubectl://{pod}?namespace={namespace}")
        problems += pod_problems(host, pod)
    if not pods:
        raise StepFailed(f"no running pods in namespace {namespace!r}")
    if problems:
        raise StepFailed("pod posture: " + "; ".join(problems))
    return {"pods": pods}


def posture_step(ctx: Context, spec: dict[str, Any], expect: dict[str, Any]) -> dict[str, Any]:
    check = spec.get("check", "listening" if ctx.env.target == "local" else "pods")
    if check == "listening":
        if ctx.env.target != "local":
            raise StepSkipped(f"listening-socket posture runs on the local target "
                              f"(this is {ctx.env.target!r})")
        return local_listening()
    if ctx.env.target not in ("kind", "aws"):
        raise StepSkipped(f"pod posture needs a cluster target (kind/aws); this is {ctx.env.target!r}")
    return kube_pods(str(spec.get("namespace") or ctx.env.extra.get("namespace") or "easy-upload"))


__all__ = ["Host", "exposed", "kube_pods", "listening_addresses", "local_listening", "own_listening_ports",
           "pod_problems", "posture_step", "running_pods", "still_listening"]
