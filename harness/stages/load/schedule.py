"""The declared canary schedule: from the Rollout's steps alone, the highest weight allowed when.

Read from the rendered manifests, not from the platform: ``setWeight`` raises the weight at once;
``pause: {duration}`` holds it for at least that long (no duration: until promoted by hand, so no
later step is ever due); an ``analysis`` step holds it until every metric of its templates could have
succeeded, i.e. ``initialDelay + (count - 1) * interval`` (Argo Rollouts, "Analysis": a run is
Successful once ``count`` measurements were taken; a metric with an ``interval`` and no ``count``
never completes); once every step is done the canary takes all traffic. A failing analysis aborts
sooner, which only lowers the weight, so the schedule is an upper bound of the weight at every
moment after the rollout began.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.k8s.specs import parse_duration


@dataclass(frozen=True, slots=True)
class WeightWindow:
    """From ``from_s`` manifest seconds after the rollout began, the weight is at most ``weight``."""

    from_s: float
    weight: int


def canary_schedule(
    rollout: Mapping[str, Any], templates: Mapping[str, Mapping[str, Any]]
) -> list[WeightWindow]:
    """The upper-bound weight schedule of ``rollout`` (a Rollout document) given its AnalysisTemplates."""
    canary = (rollout.get("spec", {}).get("strategy") or {}).get("canary") or {}
    at, highest, windows = 0.0, 0, [WeightWindow(0.0, 0)]
    for step in canary.get("steps") or []:
        if "setWeight" in step:
            highest = max(highest, int(step["setWeight"]))
            windows.append(WeightWindow(at, highest))
        elif "pause" in step:
            at += parse_duration((step["pause"] or {}).get("duration")) or math.inf
        elif "analysis" in step:
            names = [t["templateName"] for t in step["analysis"].get("templates", [])]
            at += max((_shortest_success(templates[n]) for n in names if n in templates), default=0.0)
        if math.isinf(at):
            return windows
    if highest < 100:  # after the last step the Rollout promotes the canary in full
        windows.append(WeightWindow(at, 100))
    return windows


def _shortest_success(template: Mapping[str, Any]) -> float:
    """The soonest an AnalysisTemplate's run can be Successful (seconds)."""
    longest = 0.0
    for metric in template.get("spec", {}).get("metrics", []):
        count, interval = metric.get("count"), parse_duration(metric.get("interval"))
        delay = parse_duration(metric.get("initialDelay")) or 0.0
        if count is None and interval is not None:
            return math.inf
        longest = max(longest, delay + (int(count or 1) - 1) * (interval or 0.0))
    return longest


def allowed_weight(schedule: Sequence[WeightWindow], manifest_s: float) -> int:
    """The highest weight the schedule allows ``manifest_s`` seconds after the rollout began."""
    return max((w.weight for w in schedule if w.from_s <= manifest_s), default=0)


def final_step_at(schedule: Sequence[WeightWindow]) -> float:
    """Manifest seconds after which the last ``setWeight`` (normally 100) may apply."""
    return schedule[-1].from_s if schedule else 0.0


def rollout_documents(
    documents: Sequence[Mapping[str, Any]],
) -> tuple[Mapping[str, Any] | None, dict[str, Mapping[str, Any]]]:
    """The canary Rollout of ``documents`` and the AnalysisTemplates by name."""
    rollout = next(
        (
            d
            for d in documents
            if d.get("kind") == "Rollout" and "canary" in (d.get("spec", {}).get("strategy") or {})
        ),
        None,
    )
    templates = {
        str(d["metadata"]["name"]): d
        for d in documents
        if d.get("kind") in ("AnalysisTemplate", "ClusterAnalysisTemplate")
    }
    return rollout, templates


__all__ = ["WeightWindow", "allowed_weight", "canary_schedule", "final_step_at", "rollout_documents"]
