"""The manifests' PrometheusRules as a Prometheus rule file, on the local model's compressed time.

An alert means "this held for ``for``, judged over ``[window]``": ``for: 10m`` over ``[10m]`` in
manifest time. The local model runs manifest time ``time_scale`` times faster (a PR run lasts
minutes), so both durations are divided by ``time_scale`` (``for: 5m`` -> ``15s`` at 20x), and
nothing else of a rule changes: its expression, labels and annotations are the manifests'. Range
windows are the ``[d]`` and ``[d:r]`` of PromQL's range selectors and subqueries (Prometheus'
duration units ``ms s m h d w y``); anything in a string literal is left alone, since a PromQL string
never holds a bare ``[5m]`` the way our rules are written (a rule test proves the rewrite).
The file written is kept in the run directory as evidence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0}
_DURATION = r"(?:\d+(?:ms|[smhdwy]))+"
_RANGE = re.compile(rf"\[\s*({_DURATION})\s*(?::\s*({_DURATION})?\s*)?\]")
_PART = re.compile(r"(\d+)(ms|[smhdwy])")


def rule_groups(documents: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every rule group of every PrometheusRule (``spec.groups``), in document order."""
    return [dict(g) for d in documents if d.get("kind") == "PrometheusRule"
            for g in (d.get("spec") or {}).get("groups") or []]


def scaled_groups(groups: Sequence[Mapping[str, Any]], time_scale: float) -> list[dict[str, Any]]:
    """``groups`` with every ``for`` and range window divided by ``time_scale``."""
    return [{**group, "rules": [_scaled_rule(r, time_scale) for r in group.get("rules") or []]}
            for group in groups]


def write_rule_file(path: Path, documents: Sequence[Mapping[str, Any]], time_scale: float) -> list[str]:
    """Write the scaled rules to ``path``; the names of the alerts it defines."""
    groups = scaled_groups(rule_groups(documents), time_scale)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
    return [str(r["alert"]) for g in groups for r in g["rules"] if "alert" in r]


def scale_duration(text: str, time_scale: float) -> str:
    """A Prometheus duration divided by ``time_scale``, in whole milliseconds (at least 1 ms)."""
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(text))
    return f"{max(1, round(seconds / time_scale * 1000))}ms"


def scale_ranges(expr: str, time_scale: float) -> str:
    """``expr`` with the windows of its range selectors and subqueries divided by ``time_scale``."""

    def replace(match: re.Match[str]) -> str:
        window = scale_duration(match.group(1), time_scale)
        if match.group(0).find(":") < 0:
            return f"[{window}]"
        step = match.group(2)
        return f"[{window}:{scale_duration(step, time_scale) if step else ''}]"

    return _RANGE.sub(replace, expr)


def _scaled_rule(rule: Mapping[str, Any], time_scale: float) -> dict[str, Any]:
    scaled = dict(rule)
    scaled["expr"] = scale_ranges(str(rule.get("expr", "")), time_scale)
    if rule.get("for"):
        scaled["for"] = scale_duration(str(rule["for"]), time_scale)
    return scaled


__all__ = ["rule_groups", "scale_duration", "scale_ranges", "scaled_groups", "write_rule_file"]
