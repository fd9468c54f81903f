"""The Argo Rollouts canary step machine, deterministic and free of I/O.

Parses ``spec.strategy.canary`` of a Rollout (``steps``: ``setWeight``, ``pause`` with or without
``duration``, ``analysis`` with ``templates``/``args``; plus ``analysis`` = background analysis with
``startingStep``) and walks it as the Argo Rollouts documentation ("Canary", "Analysis") describes:

* ``setWeight`` sets the canary's traffic share and moves on;
* ``pause`` waits ``duration`` (or until :meth:`CanaryRollout.promote` when it has none);
* an ``analysis`` step creates an AnalysisRun and waits: Successful -> next step, Failed/Error ->
  abort, Inconclusive -> paused until promoted or aborted;
* background analysis runs from ``startingStep`` until the last step; its failure aborts too;
* abort sets the canary weight to 0 (all traffic back to stable) and marks the rollout Degraded;
  after the last step the canary becomes stable at weight 100 (Healthy).

The I/O edge (router weights, deploying processes, PromQL) is the caller's: call :meth:`reconcile`
with ``now`` and a ``measure`` function, then read :attr:`weight` / :attr:`status`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.targets.local.cluster.analysis import (
    AnalysisRun,
    AnalysisTemplate,
    Measure,
    Measurement,
    MetricSpec,
    Phase,
    parse_duration,
)


@dataclass(frozen=True, slots=True)
class CanaryStep:
    kind: str  # "setWeight" | "pause" | "analysis"
    weight: int | None = None
    duration_s: float | None = None  # pause; None = indefinite
    templates: tuple[str, ...] = ()
    args: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, step: Mapping[str, Any]) -> CanaryStep:
        if "setWeight" in step:
            return cls("setWeight", weight=int(step["setWeight"]))
        if "pause" in step:
            return cls("pause", duration_s=parse_duration((step["pause"] or {}).get("duration")))
        if "analysis" in step:
            return cls("analysis", templates=_template_names(step["analysis"]), args=_args(step["analysis"]))
        raise ValueError(f"unsupported canary step {sorted(step)}")


def _template_names(analysis: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(t["templateName"] for t in analysis.get("templates", []))


def _args(analysis: Mapping[str, Any]) -> dict[str, str]:
    # valueFrom (podTemplateHashValue, fieldRef) is resolved by the caller's args; value wins here.
    return {a["name"]: str(a["value"]) for a in analysis.get("args", []) if "value" in a}


@dataclass(frozen=True, slots=True)
class CanaryStrategy:
    name: str
    steps: tuple[CanaryStep, ...]
    background_templates: tuple[str, ...] = ()
    background_args: Mapping[str, str] = field(default_factory=dict)
    background_start: int = 0

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> CanaryStrategy:
        if manifest.get("kind") != "Rollout":
            raise ValueError(f"not a Rollout: kind={manifest.get('kind')!r}")
        canary = manifest["spec"]["strategy"].get("canary")
        if canary is None:
            raise ValueError("Rollout has no canary strategy")
        background = canary.get("analysis") or {}
        return cls(
            name=manifest["metadata"]["name"],
            steps=tuple(CanaryStep.from_dict(s) for s in canary.get("steps", [])),
            background_templates=_template_names(background),
            background_args=_args(background),
            background_start=int(background.get("startingStep", 0)),
        )


@dataclass(slots=True)
class RolloutEvent:
    at: float
    kind: str  # "weight" | "pause" | "analysis" | "abort" | "promoted" | "step"
    detail: str
    weight: int


@dataclass(slots=True)
class CanaryRollout:
    """One canary rollout of a new revision through ``strategy``'s steps."""

    strategy: CanaryStrategy
    templates: Mapping[str, AnalysisTemplate]
    started_at: float
    extra_args: Mapping[str, str] = field(default_factory=dict)
    step_index: int = 0
    weight: int = 0
    status: str = "Progressing"  # Progressing | Paused | Healthy | Degraded
    message: str = ""
    pause_until: float | None = None
    step_run: AnalysisRun | None = None
    background_run: AnalysisRun | None = None
    runs: list[AnalysisRun] = field(default_factory=list)
    events: list[RolloutEvent] = field(default_factory=list)
    _promote_requested: bool = False

    @property
    def done(self) -> bool:
        return self.status in ("Healthy", "Degraded")

    @property
    def aborted(self) -> bool:
        return self.status == "Degraded"

    def promote(self) -> None:
        """Resume an indefinite or inconclusive pause (``kubectl argo rollouts promote``)."""
        self._promote_requested = True

    def abort(self, now: float, reason: str) -> None:
        """Weight 0, stable keeps all traffic; the rollout is Degraded."""
        for run in (self.step_run, self.background_run):
            if run is not None:
                run.terminate()
        self.weight = 0
        self.status, self.message = "Degraded", f"RolloutAborted: {reason}"
        self._event(now, "abort", reason)

    def reconcile(self, now: float, measure: Measure) -> list[tuple[str, Measurement]]:
        """Take due measurements and advance through the steps as far as ``now`` allows."""
        if self.done:
            return []
        taken = self._measure(now, measure)
        if self._background_failed(now):
            return taken
        while not self.done and self.step_index < len(self.strategy.steps):
            if not self._advance(self.strategy.steps[self.step_index], now, measure, taken):
                return taken
            self.step_index += 1
            self._event(now, "step", f"step {self.step_index}/{len(self.strategy.steps)} done")
            self._maybe_start_background(now)
        if not self.done:
            self._complete(now)
        return taken

    def _measure(self, now: float, measure: Measure) -> list[tuple[str, Measurement]]:
        self._maybe_start_background(now)
        taken: list[tuple[str, Measurement]] = []
        for run in (self.step_run, self.background_run):
            if run is not None and not run.terminated:
                taken += [(f"{run.name}/{name}", m) for name, m in run.run_due(now, measure)]
        return taken

    def _background_failed(self, now: float) -> bool:
        run = self.background_run
        if run is None:
            return False
        phase = run.phase()
        if phase in (Phase.FAILED, Phase.ERROR):
            self.abort(now, f"background analysis {run.name} {phase.value}")
            return True
        if phase is Phase.INCONCLUSIVE:
            return self._pause_inconclusive(now, run)
        return False

    def _advance(
        self, step: CanaryStep, now: float, measure: Measure, taken: list[tuple[str, Measurement]]
    ) -> bool:
        """Whether ``step`` is finished at ``now``."""
        if step.kind == "setWeight":
            self.weight = step.weight or 0
            self._event(now, "weight", f"setWeight {self.weight}")
            return True
        if step.kind == "pause":
            return self._pause_over(step, now)
        return self._analysis_over(step, now, measure, taken)

    def _pause_over(self, step: CanaryStep, now: float) -> bool:
        if self.pause_until is None:
            self.pause_until = now + step.duration_s if step.duration_s is not None else math.inf
            self.status = "Paused"
            self._event(now, "pause", f"pause {step.duration_s or 'indefinite'}")
        if now >= self.pause_until or self._promote_requested:
            self.pause_until, self._promote_requested, self.status = None, False, "Progressing"
            return True
        return False

    def _analysis_over(
        self, step: CanaryStep, now: float, measure: Measure, taken: list[tuple[str, Measurement]]
    ) -> bool:
        if self.step_run is None:
            self.step_run = self._new_run(f"step-{self.step_index}", step.templates, step.args, now)
            self._event(now, "analysis", f"started {self.step_run.name}")
            taken += [(f"{self.step_run.name}/{n}", m) for n, m in self.step_run.run_due(now, measure)]
        phase = self.step_run.phase()
        if phase is Phase.SUCCESSFUL:
            self._event(now, "analysis", f"{self.step_run.name} Successful")
            self.step_run = None
            return True
        if phase in (Phase.FAILED, Phase.ERROR):
            self.abort(now, f"analysis {self.step_run.name} {phase.value}")
            return False
        if phase is Phase.INCONCLUSIVE:
            if self._pause_inconclusive(now, self.step_run):
                return False
            self.step_run = None
            return True
        return False

    def _pause_inconclusive(self, now: float, run: AnalysisRun) -> bool:
        """Inconclusive pauses the rollout until promoted; returns whether still paused."""
        if self._promote_requested:
            self._promote_requested, self.status = False, "Progressing"
            run.terminate()
            return False
        if self.status != "Paused":
            self.status = "Paused"
            self._event(now, "pause", f"{run.name} Inconclusive")
        return True

    def _maybe_start_background(self, now: float) -> None:
        strat = self.strategy
        if (
            self.background_run is None
            and strat.background_templates
            and self.step_index >= strat.background_start
        ):
            self.background_run = self._new_run(
                "background", strat.background_templates, strat.background_args, now
            )
            self._event(now, "analysis", "started background")

    def _new_run(
        self, name: str, templates: Sequence[str], args: Mapping[str, str], now: float
    ) -> AnalysisRun:
        merged = {**self.extra_args, **args}
        metrics: list[MetricSpec] = []
        for template in templates:
            if template not in self.templates:
                raise ValueError(f"AnalysisTemplate {template!r} not found")
            metrics += self.templates[template].metric_specs(merged)
        run = AnalysisRun.create(name, metrics, now)
        self.runs.append(run)
        return run

    def _complete(self, now: float) -> None:
        if self.background_run is not None:
            self.background_run.terminate()
        self.weight, self.status, self.message = 100, "Healthy", "canary promoted to stable"
        self._event(now, "promoted", "all steps complete")

    def _event(self, now: float, kind: str, detail: str) -> None:
        self.events.append(RolloutEvent(now, kind, detail, self.weight))


__all__ = ["CanaryRollout", "CanaryStep", "CanaryStrategy", "RolloutEvent"]
