"""Time bounds made of the app's own settings, each named with where its value came from.

A scenario writes a bound as a weighted sum of settings plus slack, e.g.
``within: {settings: {MULTIPART_SWEEP_S: 3}, plus_s: 6}``: 3 x the sweep interval + 6 s. A setting's
value is the one this scenario deployed (``action: {deploy: ..., settings: {...}}``: what the running
replicas were started with), else the one the rendered manifests declare (a ConfigMap key or a
literal container env). ``*_MS`` settings count in milliseconds, every other in seconds. A setting
found in neither place is a scenario error: a bound is never made up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.stages.functional.budget import manifest_setting
from harness.stages.functional.context import Context, ScenarioError


@dataclass(frozen=True, slots=True)
class Bound:
    """Seconds something may take, and the sum it was made of (settings with their sources)."""

    seconds: float
    source: str

    def __str__(self) -> str:
        return f"{self.seconds:g} s = {self.source}"


def setting(ctx: Context, key: str) -> tuple[float, str]:
    """The value of the app setting ``key`` in force, and where it came from."""
    if key in ctx.deployed:
        return _number(key, ctx.deployed[key]), f"{key}={ctx.deployed[key]} (deployed by this scenario)"
    value, where = manifest_setting(ctx, key)
    return float(value), where


def bound_of(ctx: Context, spec: dict[str, Any]) -> Bound:
    """``sum of factor x setting`` (in seconds) ``+ plus_s`` of a scenario's ``within`` mapping."""
    terms = [(float(factor), key, *setting(ctx, key)) for key, factor in (spec.get("settings") or {}).items()]
    if not terms:
        raise ScenarioError("a bound needs at least one setting (within.settings)")
    slack = float(spec.get("plus_s", 0))
    seconds = sum(factor * value / (1000 if key.endswith("_MS") else 1) for factor, key, value, _ in terms)
    parts = [f"{factor:g} x {where}" for factor, _, _, where in terms]
    return Bound(seconds + slack, " + ".join(parts + ([f"{slack:g} s slack"] if slack else [])))


def _number(key: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ScenarioError(f"bound: the deployed {key}={raw!r} is not a number") from None


__all__ = ["Bound", "bound_of", "setting"]
