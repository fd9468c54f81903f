"""Locust workers as a Kubernetes Job (``assets/locust-workers.yaml``), rendered per run.

:func:`worker_job` sets the Job's ``parallelism``/``completions`` to the worker count and points the
workers at the master; the locustfile is the load stage's own (mounted from a ConfigMap), the run's
config from a Secret. Locust workers hold one TCP connection each to the master's single port
(``--master-port``, ZeroMQ), which is what must be reachable from the pods.

Built and unit-tested: the manifest and its rendering (schema-validated offline). Deployed, with the
relay and the tunnel, by :class:`~harness.targets.cluster.workers.ClusterWorkers` (the kind and aws
targets' ``Environment.load_workers``); verified in the nightly workflow only.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

JOB_MANIFEST = Path(__file__).with_name("assets") / "locust-workers.yaml"
MASTER_SERVICE = "locust-master"


def worker_job(workers: int, *, namespace: str = "harness-load", master_host: str = MASTER_SERVICE,
               master_port: int = 5557, image: str | None = None) -> dict[str, Any]:
    """The Job that runs ``workers`` Locust worker pods dialling ``master_host:master_port``."""
    if workers < 1:
        raise ValueError(f"workers: expected >= 1, got {workers}")
    job: dict[str, Any] = copy.deepcopy(yaml.safe_load(JOB_MANIFEST.read_text(encoding="utf-8")))
    job["metadata"]["namespace"] = namespace
    job["spec"]["parallelism"] = job["spec"]["completions"] = workers
    container = job["spec"]["template"]["spec"]["containers"][0]
    args: list[str] = container["args"]
    args[args.index("--master-host") + 1] = master_host
    args[args.index("--master-port") + 1] = str(master_port)
    if image is not None:
        container["image"] = image
    return job


__all__ = ["JOB_MANIFEST", "MASTER_SERVICE", "worker_job"]
