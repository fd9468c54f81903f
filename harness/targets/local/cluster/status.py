"""The model's AnalysisRuns as the protocol's snapshots (what ``kubectl get analysisrun`` shows)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from harness.targets.base import AnalysisMeasurement, AnalysisRunStatus
from harness.targets.local.cluster.analysis import AnalysisRun


def analysis_runs(
    runs: Sequence[AnalysisRun], epoch: Callable[[float], float]
) -> tuple[AnalysisRunStatus, ...]:
    """``runs`` with every measurement; ``epoch`` maps the model's manifest time to epoch seconds."""
    return tuple(_run(run, epoch) for run in runs)


def _run(run: AnalysisRun, epoch: Callable[[float], float]) -> AnalysisRunStatus:
    measurements = tuple(
        AnalysisMeasurement(metric=name, phase=m.phase.value, value=_value(m.value), at=epoch(m.at),
                            query=result.spec.query)
        for name, result in run.results.items()
        for m in result.measurements
    )
    message = next((m.message for r in run.results.values() for m in r.measurements if m.message), "")
    return AnalysisRunStatus(run.name, run.phase().value, measurements, message)


def _value(value: Any) -> str:
    """As Argo records a Prometheus result: ``[0.81]`` for a vector, ``0.81`` for a scalar."""
    if isinstance(value, list):
        return "[" + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)


__all__ = ["analysis_runs"]
