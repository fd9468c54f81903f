"""Argo Rollouts AnalysisTemplates and AnalysisRuns, as pure data and deterministic state.

Semantics follow the Argo Rollouts documentation ("Analysis & Progressive Delivery") and the
analysis controller it describes:

* a measurement is ``Successful`` / ``Failed`` / ``Inconclusive`` from ``successCondition`` and
  ``failureCondition`` (no conditions: always Successful; only a success condition: Failed when it
  is false; only a failure condition: Successful when it is false; both true: Failed; neither true:
  Inconclusive), or ``Error`` when the query or the condition breaks;
* a metric is ``Failed`` when failed measurements exceed ``failureLimit`` (default 0),
  ``Inconclusive`` when inconclusive ones exceed ``inconclusiveLimit`` (default 0), ``Error`` when
  consecutive errors exceed ``consecutiveErrorLimit`` (default 4), ``Successful`` once ``count``
  measurements were taken (no ``count`` and no ``interval`` = one measurement), else ``Running``;
* the run takes the worst metric phase (Failed > Error > Inconclusive > Successful > Running).

The caller measures (the local target: the template's query on a real Prometheus) and hands the
value to :meth:`AnalysisRun.record`; every method takes ``now`` so tests need no clock.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.k8s.expr import ExprError, evaluate_condition
from harness.k8s.specs import parse_duration


class Phase(enum.StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    INCONCLUSIVE = "Inconclusive"
    ERROR = "Error"
    FAILED = "Failed"

    @property
    def completed(self) -> bool:
        return self not in (Phase.PENDING, Phase.RUNNING)


_SEVERITY = [Phase.PENDING, Phase.RUNNING, Phase.SUCCESSFUL, Phase.INCONCLUSIVE, Phase.ERROR, Phase.FAILED]


def worst(phases: list[Phase]) -> Phase:
    return max(phases, key=_SEVERITY.index) if phases else Phase.SUCCESSFUL


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One ``spec.metrics[]`` entry of an AnalysisTemplate."""

    name: str
    success_condition: str | None = None
    failure_condition: str | None = None
    failure_limit: int = 0
    inconclusive_limit: int = 0
    consecutive_error_limit: int = 4
    count: int | None = None
    interval_s: float | None = None
    initial_delay_s: float = 0.0
    query: str | None = None  # provider.prometheus.query, args substituted
    provider: str = "prometheus"

    @property
    def effective_count(self) -> int | None:
        """``count``; one measurement when neither count nor interval is set; None = unbounded."""
        if not self.count:
            return 1 if self.interval_s is None else None
        return self.count

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], args: Mapping[str, str] | None = None) -> MetricSpec:
        provider = data.get("provider") or {}
        kind = next(iter(provider), "prometheus")
        query = (provider.get(kind) or {}).get("query")
        return cls(
            name=data["name"], provider=kind, query=substitute_args(query, args or {}) if query else None,
            success_condition=data.get("successCondition") or None,
            failure_condition=data.get("failureCondition") or None,
            failure_limit=int(data.get("failureLimit", 0)),
            inconclusive_limit=int(data.get("inconclusiveLimit", 0)),
            consecutive_error_limit=int(data.get("consecutiveErrorLimit", 4)),
            count=int(data["count"]) if data.get("count") is not None else None,
            interval_s=parse_duration(data.get("interval")),
            initial_delay_s=parse_duration(data.get("initialDelay")) or 0.0,
        )


_ARG = re.compile(r"\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}")


def substitute_args(text: str, args: Mapping[str, str]) -> str:
    """Replace ``{{args.name}}``; an argument without a value is an error, as in Argo."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1) not in args:
            raise ValueError(f"argument {match.group(1)!r} has no value")
        return args[match.group(1)]

    return _ARG.sub(replace, text)


@dataclass(frozen=True, slots=True)
class AnalysisTemplate:
    name: str
    metrics: tuple[Mapping[str, Any], ...]
    args: Mapping[str, str | None]

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> AnalysisTemplate:
        if manifest.get("kind") not in ("AnalysisTemplate", "ClusterAnalysisTemplate"):
            raise ValueError(f"not an AnalysisTemplate: kind={manifest.get('kind')!r}")
        spec = manifest["spec"]
        return cls(
            name=manifest["metadata"]["name"],
            metrics=tuple(spec.get("metrics", [])),
            args={a["name"]: a.get("value") for a in spec.get("args", [])},
        )

    def metric_specs(self, args: Mapping[str, str] | None = None) -> list[MetricSpec]:
        """Metrics with ``{{args.*}}`` resolved: step args override template defaults."""
        merged = {k: v for k, v in self.args.items() if v is not None}
        merged.update(args or {})
        return [MetricSpec.from_dict(m, merged) for m in self.metrics]


def measurement_phase(metric: MetricSpec, result: Any) -> Phase:
    """Phase of one measurement (``EvaluateResult``); condition errors give ``Error``."""
    try:
        success = evaluate_condition(metric.success_condition, result) if metric.success_condition else False
        failure = evaluate_condition(metric.failure_condition, result) if metric.failure_condition else False
    except ExprError:
        return Phase.ERROR
    if not metric.success_condition and not metric.failure_condition:
        return Phase.SUCCESSFUL
    if metric.success_condition and not metric.failure_condition:
        failure = not success
    elif metric.failure_condition and not metric.success_condition:
        success = not failure
    if failure:
        return Phase.FAILED
    return Phase.SUCCESSFUL if success else Phase.INCONCLUSIVE


@dataclass(slots=True)
class Measurement:
    at: float
    value: Any
    phase: Phase
    message: str = ""


@dataclass(slots=True)
class MetricResult:
    spec: MetricSpec
    measurements: list[Measurement] = field(default_factory=list)
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    error: int = 0
    consecutive_error: int = 0
    count: int = 0

    def add(self, measurement: Measurement) -> None:
        self.measurements.append(measurement)
        if measurement.phase is Phase.ERROR:
            self.error += 1
            self.consecutive_error += 1
            return
        self.count += 1
        self.consecutive_error = 0
        if measurement.phase is Phase.SUCCESSFUL:
            self.successful += 1
        elif measurement.phase is Phase.FAILED:
            self.failed += 1
        else:
            self.inconclusive += 1

    def phase(self, terminating: bool = False) -> Phase:
        """The metric's phase (``assessMetricStatus``)."""
        if not self.measurements:
            return Phase.SUCCESSFUL if terminating else Phase.PENDING
        if self.failed > self.spec.failure_limit >= 0:
            return Phase.FAILED
        if self.inconclusive > self.spec.inconclusive_limit:
            return Phase.INCONCLUSIVE
        if self.consecutive_error > self.spec.consecutive_error_limit:
            return Phase.ERROR
        count = self.spec.effective_count
        if count is not None and self.count >= count:
            return Phase.SUCCESSFUL
        return Phase.SUCCESSFUL if terminating else Phase.RUNNING


Measure = Callable[[MetricSpec], Any]


@dataclass(slots=True)
class AnalysisRun:
    """One AnalysisRun: its metrics, their measurements and the run phase."""

    name: str
    started_at: float
    results: dict[str, MetricResult]
    terminated: bool = False

    @classmethod
    def create(cls, name: str, metrics: list[MetricSpec], now: float) -> AnalysisRun:
        return cls(name, now, {m.name: MetricResult(m) for m in metrics})

    def due(self, now: float) -> list[MetricSpec]:
        """Metrics whose next measurement is due at ``now``."""
        due = []
        for result in self.results.values():
            spec = result.spec
            if result.phase().completed or now < self.started_at + spec.initial_delay_s:
                continue
            last = result.measurements[-1].at if result.measurements else None
            if last is None or (spec.interval_s is not None and now >= last + spec.interval_s):
                due.append(spec)
        return due

    def record(self, metric: str, now: float, value: Any = None, *, error: str | None = None) -> Measurement:
        """Record one measurement: ``value`` (evaluated against the conditions) or a query ``error``."""
        spec = self.results[metric].spec
        phase = Phase.ERROR if error is not None else measurement_phase(spec, value)
        message = error or ("" if phase is not Phase.ERROR else "condition could not be evaluated")
        measurement = Measurement(now, value, phase, message)
        self.results[metric].add(measurement)
        return measurement

    def run_due(self, now: float, measure: Measure) -> list[tuple[str, Measurement]]:
        """Measure every due metric with ``measure``; exceptions become Error measurements."""
        taken = []
        for spec in self.due(now):
            try:
                taken.append((spec.name, self.record(spec.name, now, measure(spec))))
            except Exception as exc:  # a broken query is an Error measurement, not a crash
                taken.append((spec.name, self.record(spec.name, now, error=f"{type(exc).__name__}: {exc}")))
        return taken

    def phase(self) -> Phase:
        """The run's phase: the worst metric phase once any metric completed unsuccessfully."""
        phases = [r.phase(self.terminated) for r in self.results.values()]
        if any(p.completed and p is not Phase.SUCCESSFUL for p in phases):
            return worst([p for p in phases if p.completed])
        if all(p is Phase.SUCCESSFUL for p in phases):
            return Phase.SUCCESSFUL
        return Phase.RUNNING

    def terminate(self) -> None:
        """Stop measuring (background analysis when the rollout completes): Running becomes Successful."""
        self.terminated = True


__all__ = ["AnalysisRun", "AnalysisTemplate", "Measurement", "MetricResult", "MetricSpec", "Phase",
           "measurement_phase", "parse_duration", "substitute_args", "worst"]
