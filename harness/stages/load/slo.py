"""SLO evaluation as pure functions over Locust's CSV output.

An SLO in ``scenarios/load/*.yaml`` is one of::

    {id: SLO-upload-p95, flow: upload, p95_ms: 800}          # p50_ms / p95_ms / p99_ms
    {id: SLO-error-ratio, error_ratio: 0.01}                 # flow optional (default: all HTTP requests)
    {id: SLO-throughput, min_rps: 5}                         # flow optional

and becomes one :class:`~harness.results.Result` with the measured value and the threshold.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.results import Result, Severity, Status

AGGREGATED = "Aggregated"
HTTP = "http"  # every real HTTP request: Locust's rows minus the synthetic FLOW timings


@dataclass(frozen=True, slots=True)
class FlowStats:
    """One row of Locust's ``*_stats.csv``."""

    name: str
    requests: int
    failures: int
    rps: float
    percentiles: Mapping[str, float | None]  # "50%" .. "100%" in ms

    @property
    def error_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    def percentile(self, p: int) -> float | None:
        return self.percentiles.get(f"{p}%")


def _number(text: str | None) -> float | None:
    if text in (None, "", "N/A"):
        return None
    return float(text)


def parse_stats_csv(text: str) -> dict[str, FlowStats]:
    """Flows by name (``Aggregated`` = every request) from ``<prefix>_stats.csv``."""
    flows, http = {}, [0, 0, 0.0]
    for row in csv.DictReader(io.StringIO(text)):
        pct = {k: _number(v) for k, v in row.items() if k and k.endswith("%")}
        flow = FlowStats(
            row["Name"],
            int(row["Request Count"]),
            int(row["Failure Count"]),
            _number(row["Requests/s"]) or 0.0,
            pct,
        )
        flows[flow.name] = flow
        if row.get("Type") not in ("FLOW", "", None) and flow.name != AGGREGATED:
            http = [http[0] + flow.requests, http[1] + flow.failures, http[2] + flow.rps]
    flows[HTTP] = FlowStats(HTTP, int(http[0]), int(http[1]), float(http[2]), {})
    return flows


def parse_history_csv(text: str) -> list[dict[str, Any]]:
    """Per-second aggregated rows of ``<prefix>_stats_history.csv`` (the timeline's load part)."""
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        if row.get("Name") != AGGREGATED:
            continue
        rows.append(
            {
                "ts": float(row["Timestamp"]),
                "users": int(row["User Count"]),
                "rps": _number(row["Requests/s"]) or 0.0,
                "fps": _number(row["Failures/s"]) or 0.0,
                "p50_ms": _number(row["50%"]),
                "p95_ms": _number(row["95%"]),
                "p99_ms": _number(row["99%"]),
            }
        )
    return rows


def slo_result(
    slo: Mapping[str, Any], flows: Mapping[str, FlowStats], *, scenario: str, evidence: Sequence[str] = ()
) -> Result:
    """One SLO verdict. A flow without samples cannot meet its SLO: failed, saying so."""
    flow_name = slo.get("flow") or HTTP
    flow = flows.get(flow_name)
    kind, threshold = _kind(slo)

    def verdict(ok: bool, message: str, measured: dict[str, float | int | str]) -> Result:
        return Result(
            id=str(slo["id"]),
            stage="load",
            title=f"{scenario}: {_describe(flow_name, kind, threshold)}",
            status=Status.PASSED if ok else Status.FAILED,
            severity=Severity(slo.get("severity", "high")),
            controls=list(slo.get("controls", [])),
            message=message,
            measured=measured,
            evidence=list(evidence),
        )

    if flow is None or flow.requests == 0:
        return verdict(
            False, f"no {flow_name!r} requests were measured", {"threshold": threshold, "requests": 0}
        )
    value = _measure(flow, kind)
    if value is None:
        return verdict(
            False,
            f"{kind} of {flow_name!r} is not available",
            {"threshold": threshold, "requests": flow.requests},
        )
    ok = value >= threshold if kind == "min_rps" else value <= threshold
    relation = (">=" if kind == "min_rps" else "<=") if ok else ("<" if kind == "min_rps" else ">")
    return verdict(
        ok,
        f"{kind} {value:.4g} {relation} {threshold:g} over {flow.requests} requests",
        {kind: round(value, 4), "threshold": threshold, "requests": flow.requests, "failures": flow.failures},
    )


_KINDS = ("p50_ms", "p95_ms", "p99_ms", "error_ratio", "min_rps")


def _kind(slo: Mapping[str, Any]) -> tuple[str, float]:
    for kind in _KINDS:
        if kind in slo:
            return kind, float(slo[kind])
    raise ValueError(f"SLO {slo.get('id')!r} names none of {', '.join(_KINDS)}")


def _measure(flow: FlowStats, kind: str) -> float | None:
    if kind == "error_ratio":
        return flow.error_ratio
    if kind == "min_rps":
        return flow.rps
    return flow.percentile(int(kind[1:3]))


def _describe(flow: str, kind: str, threshold: float) -> str:
    who = "all HTTP requests" if flow == HTTP else flow
    if kind == "error_ratio":
        return f"error ratio of {who} <= {threshold:g}"
    if kind == "min_rps":
        return f"throughput of {who} >= {threshold:g} req/s"
    return f"{kind[:3]} of {who} <= {threshold:g} ms"


def evaluate_slos(
    slos: Sequence[Mapping[str, Any]],
    flows: Mapping[str, FlowStats],
    *,
    scenario: str,
    evidence: Sequence[str] = (),
) -> list[Result]:
    return [slo_result(slo, flows, scenario=scenario, evidence=evidence) for slo in slos]


__all__ = [
    "AGGREGATED",
    "HTTP",
    "FlowStats",
    "evaluate_slos",
    "parse_history_csv",
    "parse_stats_csv",
    "slo_result",
]
