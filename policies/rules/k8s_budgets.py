"""Memory budgets: a worker that runs N jobs at once has room for N budgets in its container.

This project's own policy (not a built-in: it knows the reference app's variables), loaded from
``policies/rules`` like any checked repo's; its metadata is in ``policies/controls.yaml``.

The reference app's worker runs ``WORKER_CONCURRENCY`` jobs in one process and holds each to
``JOB_MEMORY_BUDGET_MIB`` (reference_app/easy_upload/budget.py refuses files that would not fit).
That promise holds only if the container's memory limit covers every job at its budget plus the
process itself; otherwise a burst of large files is an OOM kill, and the jobs in flight die with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from harness.stages.policy.rules import (
    WORKLOAD_KINDS,
    Inputs,
    K8sDoc,
    Verdict,
    containers,
    groups,
    pod_labels,
    pod_template,
    rule,
)

MIB = 1024 * 1024
# The worker process itself: 99 MiB RSS measured after one file of each type (CPython 3.11,
# Pillow, pypdf, boto3, bullmq loaded), rounded up.
PROCESS_OVERHEAD = 128 * MIB
CONCURRENCY, BUDGET = "WORKER_CONCURRENCY", "JOB_MEMORY_BUDGET_MIB"
# Kubernetes resource.Quantity suffixes (k8s.io/apimachinery/pkg/api/resource/suffix.go).
_SUFFIXES = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
             "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60, "m": 1e-3}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]*)?)(?:[eE]([+-]?[0-9]+))?([a-zA-Z]*)$")


def quantity_bytes(value: object) -> int | None:
    """A Kubernetes memory quantity (``1Gi``, ``512M``, ``1e9``) in bytes; None if malformed."""
    match = _QUANTITY.match(str(value).strip())
    if match is None or match[3] not in _SUFFIXES:
        return None
    number = float(match[1]) * (10 ** int(match[2]) if match[2] else 1)
    return int(number * _SUFFIXES[match[3]])


def _environment(container: dict[str, Any], config_maps: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The variables a container gets from its ConfigMaps and literal ``env`` (later wins)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        name = str((source.get("configMapRef") or {}).get("name"))
        env.update({str(k): str(v) for k, v in (config_maps.get(name) or {}).items()})
    for item in container.get("env") or []:
        if isinstance(item, dict) and "value" in item:
            env[str(item.get("name"))] = str(item["value"])
    return env


def _problem(env: dict[str, str], container: dict[str, Any]) -> str | None:
    name = container.get("name")
    if not env.get(BUDGET, "").isdigit():
        return (f"container {name} runs {CONCURRENCY}={env[CONCURRENCY]} jobs but declares no "
                f"{BUDGET}: the memory each job may use is not stated next to the limit")
    if not env[CONCURRENCY].isdigit():
        return f"container {name}: {CONCURRENCY}={env[CONCURRENCY]!r} is not a whole number"
    limit = quantity_bytes(((container.get("resources") or {}).get("limits") or {}).get("memory", ""))
    if limit is None:
        return f"container {name} runs jobs with a memory budget but has no (valid) memory limit"
    need = int(env[CONCURRENCY]) * int(env[BUDGET]) * MIB + PROCESS_OVERHEAD
    if need > limit:
        return (f"container {name}: {env[CONCURRENCY]} jobs x {env[BUDGET]} MiB + {PROCESS_OVERHEAD // MIB} "
                f"MiB for the process = {need // MIB} MiB, over its memory limit of {limit // MIB} MiB")
    return None


def _runs_jobs(doc: K8sDoc, container: dict[str, Any]) -> bool:
    """A job worker: labelled so (the recommended app.kubernetes.io/component label) or started
    with a ``worker`` command. The API gets the same ConfigMap but runs no jobs."""
    argv = [str(a) for a in (container.get("command") or []) + (container.get("args") or [])]
    return pod_labels(doc).get("app.kubernetes.io/component") == "worker" or "worker" in argv


def _config_maps(docs: list[K8sDoc], namespace: str) -> dict[str, dict[str, Any]]:
    maps = (d for d in docs if d.kind == "ConfigMap" and d.namespace == namespace)
    return {d.name: d.data.get("data") or {} for d in maps}


@rule("EU-K8S-080", "Job workers' memory limits cover concurrency x per-job budget")
def worker_memory_budget(inputs: Inputs) -> Iterator[Verdict]:
    for _, docs in groups(inputs):
        for doc in (d for d in docs if d.kind in WORKLOAD_KINDS):
            config_maps = _config_maps(docs, doc.namespace)
            for container in containers(pod_template(doc).get("spec") or {}):
                env = _environment(container, config_maps)
                if CONCURRENCY in env and _runs_jobs(doc, container):
                    yield Verdict(doc, _problem(env, container))
