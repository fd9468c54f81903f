"""The ``kind`` target's tools: what must exist here (preflight) and how a command runs (bounded, in
its own process group, its output kept as evidence: :func:`~harness.targets.cluster.commands.run`).

``preflight`` names every missing piece in one line: ``kind``, ``kubectl``, ``helm``, the ``docker``
CLI, and a Docker *engine* that answers ``docker info`` (a CLI alone cannot build or run nodes).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

from harness.errors import TargetError

Which = Callable[[str], str | None]
KIND_VERSION = "v0.25.0"  # the kind release whose node image assets/cluster.yaml pins
INSTALL = {
    "kind": f"go install sigs.k8s.io/kind@{KIND_VERSION}",
    "kubectl": "apt-get install kubectl, or see kubernetes.io/docs/tasks/tools",
    "helm": "see helm.sh/docs/intro/install",
    "docker": "install Docker Engine (docs.docker.com/engine/install)",
}


def docker_engine_problem(timeout_s: float = 10.0) -> str | None:
    """None when a Docker engine answers ``docker info``; else why not, in one line."""
    try:
        done = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                              text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return f"no Docker engine answered docker info within {timeout_s:.0f}s"
    except OSError as exc:
        return f"docker info could not run ({exc})"
    if done.returncode == 0 and done.stdout.strip():
        return None
    first = next((line.strip() for line in done.stderr.splitlines() if line.strip()), "no answer")
    return f"no Docker engine answers (docker info: {first})"


Engine = Callable[[], str | None]


def missing(which: Which = shutil.which, engine: Engine = docker_engine_problem) -> list[str]:
    """Every problem that keeps ``up()`` from succeeding here."""
    problems = [f"{tool} not found ({hint})" for tool, hint in INSTALL.items() if which(tool) is None]
    if which("docker") is not None:
        problem = engine()
        if problem:
            problems.append(problem)
    return problems


def preflight(which: Which = shutil.which, engine: Engine = docker_engine_problem) -> None:
    problems = missing(which, engine)
    if problems:
        raise TargetError(f"target kind cannot run here: {'; '.join(problems)}")


__all__ = ["INSTALL", "docker_engine_problem", "missing", "preflight"]
