"""The HPA spec's arithmetic on the stage's observed series (Kubernetes docs, "Horizontal Pod
Autoscaling": "Algorithm details", "Scaling policies", "Stabilization window").

Pure functions over :class:`Observed` (wall-clock series) and :class:`~harness.k8s.specs.HpaPolicy`
(manifest seconds, converted with the platform's ``time_scale``); the verdicts are in
:mod:`.hpa_checks`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from harness.k8s.specs import HpaPolicy, ScalingRules

SYNC_PERIOD_S = 15.0
CPU_WINDOW_S = 1.0  # the Observer's nominal CPU sampling interval
SATURATED_HOST_PCT = 90.0
Points = Sequence[tuple[float, int]]


@dataclass(frozen=True, slots=True)
class Observed:
    """One component under one load: what the stage saw."""

    counts: Points  # (wall t, replicas)
    cpu: Sequence[tuple[float, float]]  # (wall t at the end of a window, demand: summed % of request)
    load_end: float  # wall t at which the offered load dropped
    time_scale: float = 1.0
    host_cpu_pct: float = 0.0
    source: str = "process table (psutil)"

    @property
    def cpu_window_s(self) -> float:
        """The median spacing of the CPU samples (the nominal interval when there are few)."""
        gaps = sorted(b[0] - a[0] for a, b in itertools.pairwise(self.cpu))
        return max(CPU_WINDOW_S, gaps[len(gaps) // 2]) if gaps else CPU_WINDOW_S

    @property
    def slack_s(self) -> float:
        """Wall seconds of timing slack (see the module docstring)."""
        return 2 * self.cpu_window_s + SYNC_PERIOD_S / self.time_scale


def target_of(policy: HpaPolicy) -> int:
    return policy.metrics[0].average_utilization if policy.metrics else 100


def early_decreases(policy: HpaPolicy, seen: Observed) -> list[str]:
    window_s = policy.scale_down.stabilization_window_seconds / seen.time_scale
    target, early = target_of(policy), []
    for i in range(1, len(seen.counts)):
        before, (t, after) = seen.counts[i - 1][1], seen.counts[i]
        if after >= before:
            continue
        reached = max(
            (seen.counts[j][0] for j in range(1, i) if seen.counts[j - 1][1] < before <= seen.counts[j][1]),
            default=seen.counts[0][0],
        )
        called = max(
            (
                tc
                for tc, u in seen.cpu
                if tc < t and recommendation(count_at(seen.counts, tc), u, target, policy.tolerance) >= before
            ),
            default=reached,
        )
        since = t - max(reached, called)
        if since < window_s - seen.slack_s:
            early.append(
                f"{before}->{after} {since * seen.time_scale:.0f}s (manifest) after {before} replicas "
                f"were last called for"
            )
    return early


def recommendation(replicas: int, demand: float, target: float, tolerance: float) -> int:
    ratio = demand / (max(replicas, 1) * target)
    return replicas if abs(1 - ratio) <= tolerance else math.ceil(demand / target)


def count_at(counts: Points, t: float) -> int:
    return next((n for tc, n in reversed(counts) if tc <= t), counts[0][1])


def scale_limit(rules: ScalingRules, counts: Points, i: int, time_scale: float, up: bool) -> int:
    """The bound the policies put on the count at ``counts[i]`` (k8s ``calculateScale*Limit``)."""
    t = counts[i][0]
    if rules.select_policy == "Disabled" or not rules.policies:
        return counts[i - 1][1]
    limits = []
    for p in rules.policies:
        start = t - p.period_seconds / time_scale
        # the count at the start of the period: the earliest sample in it before this change
        base = next((n for tc, n in counts[:i] if tc >= start), counts[i - 1][1])
        if up:
            limits.append(base + p.value if p.type == "Pods" else math.ceil(base * (1 + p.value / 100)))
        else:
            limits.append(base - p.value if p.type == "Pods" else int(base * (1 - p.value / 100)))
    most_change = max(limits) if up else min(limits)
    least_change = min(limits) if up else max(limits)
    return most_change if rules.select_policy == "Max" else least_change


__all__ = [
    "CPU_WINDOW_S",
    "SATURATED_HOST_PCT",
    "SYNC_PERIOD_S",
    "Observed",
    "Points",
    "count_at",
    "early_decreases",
    "recommendation",
    "scale_limit",
    "target_of",
]
