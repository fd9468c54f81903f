"""The HorizontalPodAutoscaler v2 algorithm, as pure functions over plain data.

Follows the Kubernetes documentation ("Horizontal Pod Autoscaling", sections *Algorithm details*
and *Configurable scaling behavior*) and the controller it describes (``pkg/controller/podautoscaler``:
``replica_calculator.go`` and ``horizontal.go``)::

    desired = ceil(ready_pods * current_utilisation / target_utilisation)

* ratios within ``1 +/- tolerance`` (0.1) change nothing;
* pods without metrics count as 100 % of the request (or the target if higher) on a scale down and
  as 0 % on a scale up; not-ready pods count as 0 % on a scale up; if that reverses the direction
  or lands within tolerance, nothing changes;
* several metrics: the largest proposal wins; if a metric is unavailable a scale *down* is skipped;
* ``behavior``: the stabilisation window keeps the highest (scale down) / lowest (scale up)
  recommendation of the window; the policies limit the change per ``periodSeconds`` and
  ``selectPolicy`` picks the policy allowing the most (Max), the least (Min) change, or none
  (Disabled). Defaults are those of the API server.

The spec (:class:`HpaPolicy`, with the API server's defaults) is read by :mod:`harness.k8s.specs`.
:class:`HpaAutoscaler` keeps the recommendation and scale-event history; every method takes ``now``
explicitly, so it is deterministic and tested without clocks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from harness.k8s.specs import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    DEFAULT_TOLERANCE,
    HpaPolicy,
    MetricTarget,
    ScalingPolicy,
    ScalingRules,
)


def usage_ratio(utilisations: Sequence[float], target: float) -> float:
    """Mean utilisation (percent of request) over the target."""
    return (sum(utilisations) / len(utilisations)) / target


def replicas_for_utilisation(
    current_replicas: int,
    utilisations: Sequence[float | None],
    target: float,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    ready: Sequence[bool] | None = None,
) -> int:
    """Desired replicas for one Resource metric (``GetResourceReplicas``).

    ``utilisations`` has one entry per pod, percent of its request; ``None`` = metric missing.
    ``ready[i]`` False marks a pod that is not ready yet (its sample is ignored).
    """
    readiness = list(ready) if ready is not None else [True] * len(utilisations)
    present = [u for u, r in zip(utilisations, readiness, strict=True) if u is not None and r]
    missing = sum(1 for u, r in zip(utilisations, readiness, strict=True) if u is None and r)
    unready = sum(1 for r in readiness if not r)
    if not present:
        raise ValueError("no pod reported the metric")
    ratio = usage_ratio(present, target)
    scale_up_with_unready = unready > 0 and ratio > 1.0
    if not scale_up_with_unready and missing == 0:
        if abs(1.0 - ratio) <= tolerance:
            return current_replicas
        return math.ceil(ratio * len(present))
    filled = list(present)
    if missing and ratio < 1.0:
        filled += [float(max(100.0, target))] * missing
    elif missing and ratio > 1.0:
        filled += [0.0] * missing
    if scale_up_with_unready:
        filled += [0.0] * unready
    new_ratio = usage_ratio(filled, target)
    if abs(1.0 - new_ratio) <= tolerance or (ratio < 1.0 < new_ratio) or (new_ratio < 1.0 < ratio):
        return current_replicas
    proposal = math.ceil(new_ratio * len(filled))
    if (new_ratio < 1.0 and proposal > current_replicas) or (new_ratio > 1.0 and proposal < current_replicas):
        return current_replicas
    return proposal


def replicas_for_metrics(current_replicas: int, proposals: Sequence[int | None]) -> int:
    """Combine per-metric proposals: the largest wins; ``None`` (metric unavailable) blocks scale-down."""
    valid = [p for p in proposals if p is not None]
    if not valid:
        return current_replicas
    best = max(valid)
    if len(valid) < len(proposals) and best < current_replicas:
        return current_replicas
    return best


@dataclass(frozen=True, slots=True)
class ScaleEvent:
    at: float
    change: int  # replicas added (scale up) or removed (scale down), positive


def _changed_in_period(events: Sequence[ScaleEvent], period: int, now: float) -> int:
    return sum(e.change for e in events if e.at + period > now)


def _period_start(
    current: int, period: int, ups: Sequence[ScaleEvent], downs: Sequence[ScaleEvent], now: float
) -> int:
    """The replica count at the start of a policy's period: both limit functions upstream
    (``calculateScaleUpLimitWithScalingRules``/``...DownLimitWithBehaviors``) compute it alike."""
    return current - _changed_in_period(ups, period, now) + _changed_in_period(downs, period, now)


def scale_up_limit(
    current: int, rules: ScalingRules, ups: Sequence[ScaleEvent], downs: Sequence[ScaleEvent], now: float
) -> int:
    """Highest replica count the scale-up policies allow now (``calculateScaleUpLimitWithScalingRules``)."""
    if rules.select_policy == "Disabled":
        return current
    proposals = []
    for policy in rules.policies:
        start = _period_start(current, policy.period_seconds, ups, downs, now)
        if policy.type == "Pods":
            proposals.append(start + policy.value)
        else:
            proposals.append(math.ceil(start * (1 + policy.value / 100)))
    return min(proposals) if rules.select_policy == "Min" else max(proposals)


def scale_down_limit(
    current: int, rules: ScalingRules, ups: Sequence[ScaleEvent], downs: Sequence[ScaleEvent], now: float
) -> int:
    """Lowest replica count the scale-down policies allow now (``calculateScaleDownLimitWithBehaviors``)."""
    if rules.select_policy == "Disabled":
        return current
    proposals = []
    for policy in rules.policies:
        start = _period_start(current, policy.period_seconds, ups, downs, now)
        if policy.type == "Pods":
            proposals.append(start - policy.value)
        else:
            proposals.append(int(start * (1 - policy.value / 100)))
    return max(proposals) if rules.select_policy == "Min" else min(proposals)


def stabilise(
    current: int,
    desired: int,
    history: Sequence[tuple[float, int]],
    now: float,
    up_window: int,
    down_window: int,
) -> int:
    """Clamp ``desired`` into the window's [min of up-window, max of down-window] recommendations."""
    up_rec = down_rec = desired
    for at, rec in history:
        if at > now - up_window:
            up_rec = min(up_rec, rec)
        if at > now - down_window:
            down_rec = max(down_rec, rec)
    return min(max(current, up_rec), down_rec)


def apply_rate_limits(
    policy: HpaPolicy,
    current: int,
    desired: int,
    ups: Sequence[ScaleEvent],
    downs: Sequence[ScaleEvent],
    now: float,
) -> int:
    """Clamp ``desired`` by min/max and the policies (``convertDesiredReplicasWithBehaviorRate``)."""
    if desired > current:
        limit = max(scale_up_limit(current, policy.scale_up, ups, downs, now), current)
        return min(desired, policy.max_replicas, limit)
    if desired < current:
        limit = min(scale_down_limit(current, policy.scale_down, ups, downs, now), current)
        return max(desired, policy.min_replicas, limit)
    return desired


@dataclass(slots=True)
class Decision:
    """One reconcile: the raw metric proposal, the stabilised value and the replicas to set."""

    at: float
    current: int
    proposed: int
    stabilised: int
    desired: int
    utilisation: dict[str, float | None]


@dataclass(slots=True)
class HpaAutoscaler:
    """Reconcile loop state for one HPA; call :meth:`reconcile` every sync period (15 s in k8s)."""

    policy: HpaPolicy
    recommendations: list[tuple[float, int]] = field(default_factory=list)
    scale_ups: list[ScaleEvent] = field(default_factory=list)
    scale_downs: list[ScaleEvent] = field(default_factory=list)

    def reconcile(
        self, now: float, current: int, utilisations: Mapping[str, Sequence[float | None]]
    ) -> Decision:
        """Decide the replica count given per-pod utilisation per metric name (e.g. ``"cpu"``)."""
        proposed = self._propose(current, utilisations)
        means = {m: _mean(v) for m, v in utilisations.items()}
        if current == 0 and self.policy.min_replicas != 0:  # scaled to 0 by hand: HPA is disabled
            return Decision(now, current, 0, 0, 0, means)
        if current > self.policy.max_replicas or current < self.policy.min_replicas:
            bounded = min(max(current, self.policy.min_replicas), self.policy.max_replicas)
            self._record(now, current, bounded)
            return Decision(now, current, proposed, bounded, bounded, means)
        pol = self.policy
        stabilised = stabilise(
            current,
            proposed,
            self.recommendations,
            now,
            pol.scale_up.stabilization_window_seconds,
            pol.scale_down.stabilization_window_seconds,
        )
        self._remember(now, proposed)
        desired = apply_rate_limits(pol, current, stabilised, self.scale_ups, self.scale_downs, now)
        self._record(now, current, desired)
        return Decision(now, current, proposed, stabilised, desired, means)

    def _propose(self, current: int, utilisations: Mapping[str, Sequence[float | None]]) -> int:
        proposals: list[int | None] = []
        for metric in self.policy.metrics:
            samples = utilisations.get(metric.name)
            if not samples or all(s is None for s in samples):
                proposals.append(None)
                continue
            proposals.append(
                replicas_for_utilisation(
                    current, samples, metric.average_utilization, tolerance=self.policy.tolerance
                )
            )
        return replicas_for_metrics(current, proposals)

    def _remember(self, now: float, recommendation: int) -> None:
        longest = max(
            self.policy.scale_up.stabilization_window_seconds,
            self.policy.scale_down.stabilization_window_seconds,
        )
        self.recommendations = [(t, r) for t, r in self.recommendations if t > now - longest]
        self.recommendations.append((now, recommendation))

    def _record(self, now: float, current: int, desired: int) -> None:
        longest = max(
            [p.period_seconds for p in self.policy.scale_up.policies + self.policy.scale_down.policies] or [0]
        )
        self.scale_ups = [e for e in self.scale_ups if e.at + longest > now]
        self.scale_downs = [e for e in self.scale_downs if e.at + longest > now]
        if desired > current:
            self.scale_ups.append(ScaleEvent(now, desired - current))
        elif desired < current:
            self.scale_downs.append(ScaleEvent(now, current - desired))


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


__all__ = ["DEFAULT_SCALE_DOWN", "DEFAULT_SCALE_UP", "Decision", "HpaAutoscaler", "HpaPolicy", "MetricTarget",
           "ScaleEvent", "ScalingPolicy", "ScalingRules", "apply_rate_limits", "replicas_for_metrics",
           "replicas_for_utilisation", "scale_down_limit", "scale_up_limit", "stabilise"]
