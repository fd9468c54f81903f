"""Charts for the HTML report: matplotlib to self-contained SVG data URIs.

Inputs are plain data (see ``harness/reporters/README.md`` for the timeline format); every function
returns ``None`` when it has nothing real to draw, so the report can say "no data in this run".
Figures are built without pyplot (no global backend, no GUI, no figure registry to leak) and
SVGs are embedded as ``data:`` URIs (not inline ``<svg>``) so that the ids matplotlib generates
cannot collide between charts; nothing is fetched.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from harness.results import SEVERITIES

_PALETTE = ("#1f5f99", "#d9822b", "#3a8f5c", "#8e44ad", "#7f8c8d", "#b03a2e")
_STATUS_COLOURS = {"failed": "#b03a2e", "error": "#6c3483", "waived": "#b7950b", "passed": "#3a8f5c"}
_RC: Any = {  # typed loosely: matplotlib types rcParams keys as a Literal union
    "svg.fonttype": "none",  # real text: small, searchable, selectable
    "svg.hashsalt": "harness-report",  # deterministic ids: the same run renders the same bytes
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e5e7eb",
    "axes.edgecolor": "#9ca3af",
}


# No date (reproducible bytes), no creator/format/type RDF block (smaller, no foreign URIs).
_NO_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    uri: str
    alt: str
    compact: bool = False  # drawn narrower in the page (few bars)


Sample = Mapping[str, Any]


def latency_chart(samples: Sequence[Sample], thresholds: Mapping[str, Any]) -> Chart | None:
    """p50/p95/p99 latency over time, with SLO thresholds and offered load for context."""
    keys = [k for k in ("p50_ms", "p95_ms", "p99_ms") if _series(samples, k)[0]]
    if not keys:
        return None
    with rc_context(_RC):
        fig = Figure(figsize=(9, 4.6))
        load_ax, lat_ax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 2.4]})
        _plot_load(load_ax, samples)
        spans = _spans(samples)
        _mark_scenarios(load_ax, spans, label=True)
        _mark_scenarios(lat_ax, spans, label=False)
        for colour, key in zip(_PALETTE, keys, strict=False):
            ts, vs = _series(samples, key)
            lat_ax.plot(ts, vs, color=colour, linewidth=1.6, label=key.removesuffix("_ms"))
            limit = number(thresholds.get(key))
            if limit is not None:
                lat_ax.axhline(limit, color=colour, linestyle="--", linewidth=1)
                lat_ax.annotate(f"SLO {key.removesuffix('_ms')} {limit:g} ms", (0.995, limit),
                                xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=8,
                                color=colour)
        lat_ax.set_ylabel("latency (ms)")
        lat_ax.set_xlabel("time since load start (s)")
        lat_ax.set_ylim(bottom=0)
        lat_ax.legend(loc="upper left", frameon=False, ncols=len(keys))
        return _chart(fig, "Latency percentiles over time",
                      f"Line chart of {', '.join(keys)} over {len(samples)} samples")


def replicas_chart(samples: Sequence[Sample]) -> Chart | None:
    """Replicas per component (steps) against the offered load."""
    named = {str(c) for s in samples if isinstance(s.get("replicas"), Mapping) for c in s["replicas"]}
    components = sorted(c for c in named if _series(samples, c, within="replicas")[0])
    if not components:
        return None
    with rc_context(_RC):
        fig = Figure(figsize=(9, 3.4))
        ax = fig.subplots()
        for colour, component in zip(_PALETTE, components, strict=False):
            ts, vs = _series(samples, component, within="replicas")
            ax.step(ts, vs, where="post", color=colour, linewidth=1.8, label=f"{component} replicas")
        ax.set_ylabel("replicas")
        ax.set_xlabel("time since load start (s)")
        top = max(_peak(_series(samples, c, within="replicas")[1]) for c in components)
        _mark_scenarios(ax, _spans(samples), label=True)
        ax.set_ylim(0, top * 1.25 + 0.5)  # headroom for the legend
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        load = ax.twinx()
        ts, users = _series(samples, "users")
        if ts:
            load.fill_between(ts, users, step="post", color="#9ca3af", alpha=0.18, label="users")
            load.set_ylabel("concurrent users", color="#6b7280")
            load.grid(False)
            load.set_ylim(0, _peak(users) * 1.25 + 1)
        handles = ax.get_legend_handles_labels()
        extra = load.get_legend_handles_labels()
        ax.legend(handles[0] + extra[0], handles[1] + extra[1], loc="upper left", frameon=False,
                  ncols=len(components) + 1)
        return _chart(fig, "Replicas against load",
                      f"Step chart of replicas for {', '.join(components)} with concurrent users")


def canary_chart(samples: Sequence[Sample], analysis: Sequence[Sample]) -> Chart | None:
    """Canary weight over time, and each analysis measurement coloured by its phase."""
    weight_t, weight_v = _series(samples, "canary_weight")
    metrics = sorted({str(a.get("metric")) for a in analysis if number(a.get("value")) is not None})
    if not weight_t and not metrics:
        return None
    with rc_context(_RC):
        rows = 1 + len(metrics)
        fig = Figure(figsize=(9, 1.9 + 1.5 * rows))
        axes = fig.subplots(rows, 1, sharex=True, squeeze=False)
        weight_ax = axes[0][0]
        weight_ax.step(weight_t, weight_v, where="post", color=_PALETTE[0], linewidth=1.8)
        weight_ax.set_ylabel("canary weight (%)")
        weight_ax.set_ylim(-2, 102)
        spans = _spans(samples)
        for i, (ax,) in enumerate(axes):
            _mark_scenarios(ax, spans, label=i == 0)
        for (ax,), metric in zip(axes[1:], metrics, strict=True):
            _plot_analysis(ax, [a for a in analysis if str(a.get("metric")) == metric], metric)
        axes[-1][0].set_xlabel("time since load start (s)")
        return _chart(fig, "Canary weight and analysis",
                      f"Canary weight steps and {len(metrics)} analysis metric(s) over time")


def severity_chart(counts: Mapping[str, Mapping[str, int]]) -> Chart | None:
    """Horizontal bars of findings per severity, stacked by status (failed, error, waived)."""
    total = sum(sum(by_status.values()) for by_status in counts.values())
    if total == 0:
        return None
    with rc_context(_RC):
        fig = Figure(figsize=(7, 2.3))
        ax = fig.subplots()
        labels = list(reversed(SEVERITIES))
        left = [0] * len(labels)
        for status, colour in _STATUS_COLOURS.items():
            widths = [counts.get(sev, {}).get(status, 0) for sev in labels]
            if any(widths):
                ax.barh(labels, widths, left=left, color=colour, label=status, height=0.6)
                left = [a + b for a, b in zip(left, widths, strict=True)]
        for y, value in enumerate(left):
            if value:
                ax.annotate(str(value), (value, y), xytext=(4, 0), textcoords="offset points", va="center",
                            fontsize=8)
        ax.set_xlabel("findings")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(axis="y", visible=False)
        ax.set_xlim(0, max(left) * 1.12 + 0.5)
        ax.legend(loc="lower right", frameon=True, framealpha=0.9, edgecolor="#e5e7eb")
        return _chart(fig, "DAST findings by severity", f"Bar chart of {total} DAST findings by severity",
                      compact=True)


def _plot_load(ax: Any, samples: Sequence[Sample]) -> None:
    ts, users = _series(samples, "users")
    rps_t, rps = _series(samples, "rps")
    if ts:
        ax.fill_between(ts, users, step="post", color="#9ca3af", alpha=0.3)
        ax.set_ylabel("users", color="#6b7280")
        ax.set_ylim(bottom=0)
    if rps_t:
        twin = ax.twinx()
        twin.plot(rps_t, rps, color=_PALETTE[3], linewidth=1.2)
        twin.set_ylabel("req/s", color=_PALETTE[3])
        twin.grid(False)
        twin.set_ylim(bottom=0)


_PHASES = {  # Argo Rollouts measurement phases -> marker, colour
    "successful": ("o", _STATUS_COLOURS["passed"]),
    "failed": ("X", _STATUS_COLOURS["failed"]),
    "error": ("D", _STATUS_COLOURS["error"]),
}


def _plot_analysis(ax: Any, points: Sequence[Sample], metric: str) -> None:
    """One marker style per phase; anything not Successful/Failed/Error (Inconclusive) in grey."""
    groups: dict[str, list[tuple[float, float]]] = {}
    for point in points:
        t, value = number(point.get("t")), number(point.get("value"))
        if t is not None and value is not None:
            groups.setdefault(str(point.get("phase") or "Unknown"), []).append((t, value))
    for phase, pairs in sorted(groups.items()):
        marker, colour = _PHASES.get(phase.lower(), ("s", "#7f8c8d"))
        ax.plot(*zip(*pairs, strict=True), marker, color=colour, markersize=6, label=phase)
    ax.set_ylabel(metric, fontsize=8)
    ax.legend(loc="upper left", frameon=False, ncols=max(1, len(groups)), fontsize=8)


def _series(samples: Sequence[Sample], key: str, *,
            within: str | None = None) -> tuple[list[float], list[float]]:
    """The (t, value) pairs of samples that carry a numeric ``key`` (optionally in a sub-mapping)."""
    ts: list[float] = []
    vs: list[float] = []
    previous: Any = None
    for sample in samples:
        holder = sample.get(within) if within else sample
        t = number(sample.get("t"))
        v = number(holder.get(key)) if isinstance(holder, Mapping) else None
        if t is not None and v is not None:
            if ts and sample.get("scenario") != previous:
                ts.append(t)
                vs.append(math.nan)  # a gap: scenarios are separate runs, not one line
            previous = sample.get("scenario")
            ts.append(t)
            vs.append(v)
    return ts, vs


def _peak(values: Sequence[float]) -> float:
    return max((v for v in values if not math.isnan(v)), default=1.0)


def _spans(samples: Sequence[Sample]) -> list[tuple[str, float, float]]:
    """(scenario, first t, last t) for consecutive samples of one scenario (load stage extension)."""
    spans: list[tuple[str, float, float]] = []
    for sample in samples:
        t, name = number(sample.get("t")), sample.get("scenario")
        if t is None or not isinstance(name, str):
            continue
        if spans and spans[-1][0] == name:
            spans[-1] = (name, spans[-1][1], t)
        else:
            spans.append((name, t, t))
    return spans if len(spans) > 1 else []


def _mark_scenarios(ax: Any, spans: Sequence[tuple[str, float, float]], *, label: bool) -> None:
    for i, (name, start, end) in enumerate(spans):
        if i % 2:
            ax.axvspan(start, end, color="#f3f4f6", zorder=0, linewidth=0)
        if label:
            ax.text((start + end) / 2, 1.01, name, transform=ax.get_xaxis_transform(), ha="center",
                    va="bottom", fontsize=7.5, color="#6b7280")


def number(value: Any) -> float | None:
    """The value as a finite float, or None (bools, strings, lists, NaN and infinities are not data)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _chart(fig: Figure, title: str, alt: str, *, compact: bool = False) -> Chart:
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata=_NO_METADATA)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return Chart(title, f"data:image/svg+xml;base64,{encoded}", alt, compact)


__all__ = ["Chart", "canary_chart", "latency_chart", "number", "replicas_chart", "severity_chart"]
