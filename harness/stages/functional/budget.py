"""Memory budgets from what the manifests declare, and peak memory observed through the Control.

The budget of one job is the component's declared memory limit divided by how many jobs it runs at
once (a setting the manifests give it, e.g. a ConfigMap key). The limit comes from the Control's
read side (``ReplicaStatus.limits``: the manifests locally, the pod spec on a cluster); the divisor
from the rendered manifests the target stood up (``Environment.extra["manifests"]``). The observed
side is independent of both: the replicas' memory as the platform measures it (process RSS locally,
container metrics on a cluster), sampled while a case runs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any

from harness.stages.functional.context import Context, ScenarioError, StepSkipped
from harness.targets.base import Control

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Budget:
    """Bytes one job may add to a replica's memory, and where that number came from."""

    bytes: int
    source: str


@cache
def _rendered_settings(overlay: str) -> tuple[tuple[str, str, str], ...]:
    """(key, value, where) of every ConfigMap entry and literal container env of the overlay."""
    from harness.k8s import render_overlay

    found: list[tuple[str, str, str]] = []
    for doc in render_overlay(Path(overlay)):
        name = f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
        if doc.get("kind") == "ConfigMap":
            found += [(str(k), str(v), f"ConfigMap {name.split('/', 1)[1]}")
                      for k, v in (doc.get("data") or {}).items()]
        for container in _containers(doc):
            found += [(str(e.get("name")), str(e["value"]), f"{name} env")
                      for e in container.get("env") or [] if isinstance(e, dict) and "value" in e]
    return tuple(found)


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = (doc.get("spec") or {}).get("template", {}).get("spec", {}) or {}
    return [c for c in spec.get("containers") or [] if isinstance(c, dict)]


def manifest_setting(ctx: Context, key: str) -> tuple[int, str]:
    """The whole-number value of ``key`` in the rendered manifests of this environment, and where."""
    overlay = ctx.env.extra.get("manifests")
    if not overlay or not Path(str(overlay)).is_dir():
        raise StepSkipped(f"the budget needs {key} from the manifests; target {ctx.env.target!r} "
                          "names no rendered overlay (Environment.extra['manifests'])")
    values = {(v, where) for k, v, where in _rendered_settings(str(overlay)) if k == key}
    distinct = {v for v, _ in values}
    if len(distinct) != 1 or not next(iter(distinct)).isdigit():
        raise ScenarioError(f"budget: {key} in {overlay}: expected one whole number, found "
                            f"{sorted(distinct) or 'none'}")
    value, where = sorted(values)[0]
    return int(value), f"{key}={value} ({where} in {overlay})"


def job_budget(ctx: Context, control: Control, component: str, divide_by: str) -> Budget:
    """The component's declared memory limit ÷ the ``divide_by`` setting of the manifests."""
    limits = {r.limits.get("memory") for r in control.replicas(component)}
    limits.discard(None)
    if len(limits) != 1:
        raise StepSkipped(f"budget: {component} replicas declare memory limits {sorted(map(str, limits))}; "
                          "need exactly one")
    limit = int(next(iter(limits)))  # type: ignore[arg-type]
    jobs, where = manifest_setting(ctx, divide_by)
    if jobs < 1:
        raise ScenarioError(f"budget: {where} must be at least 1")
    return Budget(limit // jobs, f"{component} memory limit {limit // MIB} MiB (declared, via "
                                 f"{control.platform}) / {where} = {limit // jobs // MIB} MiB per job")


@dataclass(slots=True)
class MemorySampler:
    """Samples ``control.replicas(component)`` memory in a thread; ``rise`` = the largest growth of
    one replica over its first sample (a job runs in one replica). A peak shorter than
    ``interval_s`` can be missed: the check under-reports, it never invents growth."""

    control: Control
    component: str
    interval_s: float = 0.05
    baseline: dict[str, int] = field(default_factory=dict)
    peak: dict[str, int] = field(default_factory=dict)
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        for replica in self.control.replicas(self.component):
            if replica.memory_bytes is None:
                continue
            self.baseline.setdefault(replica.name, replica.memory_bytes)
            self.peak[replica.name] = max(self.peak.get(replica.name, 0), replica.memory_bytes)
        self.samples += 1

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def __enter__(self) -> MemorySampler:
        self.sample()
        if not self.baseline:
            raise StepSkipped(f"the platform reports no memory for {self.component} replicas")
        self._thread = threading.Thread(target=self._loop, name="memory-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.sample()

    @property
    def rise(self) -> tuple[str, int]:
        """(replica, bytes) of the largest growth over baseline."""
        if not self.peak:
            return "-", 0
        return max(((name, self.peak[name] - self.baseline[name]) for name in self.peak),
                   key=lambda item: item[1])


__all__ = ["Budget", "MemorySampler", "job_budget", "manifest_setting"]
