"""A control scenario (autoscaling, canary) next to the load, through the Control protocol only.

The platform runs its controllers (a cluster's, or the local target's model of them); the stage
acts as a user would (``deploy`` a canary, ``abort`` one left in flight) and reads the platform's
account (``rollout()``, ``autoscaler()``) for the timeline and the messages. Verdicts rest on what
the stage observes itself (:mod:`.observe`) against what the manifests declare (:mod:`.schedule`,
:func:`harness.k8s.specs.hpa_policies`); the results say what acted (``proven_on`` = the
platform) and what observed (``measured["observed_by"]``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.app_profile import AppProfile
from harness.k8s.specs import declared_resources, hpa_policies
from harness.results import Result, Status
from harness.stages.load.canary_checks import (
    CanaryObserved,
    exposure_result,
    promotion_result,
    rollback_result,
)
from harness.stages.load.checks import error_result, load_result
from harness.stages.load.hpa_checks import Observed, hpa_results
from harness.stages.load.observe import COMPONENTS, Observer, app_processes, platform_replicas
from harness.stages.load.runner import LocustRun
from harness.stages.load.scenario import LoadScenario
from harness.stages.load.schedule import canary_schedule, rollout_documents
from harness.targets.base import Control, Environment, RolloutStatus

DEPLOY_WAIT_S = 10.0  # deploy the canary even if no user request was seen by then


class ControlSession:
    """One scenario's use of the Control: begin, sample every second, verdicts, close."""

    def __init__(
        self,
        env: Environment,
        control: Control,
        scenario: LoadScenario,
        documents: list[dict[str, Any]],
        out_dir: Path,
        app: AppProfile,
    ) -> None:
        self.control, self.scenario, self.out_dir = control, scenario, out_dir
        local = any(r.pid is not None for c in COMPONENTS for r in control.replicas(c))
        self.source = "process table (psutil)" if local else f"replica list of {control.platform}"
        resources = declared_resources(documents)
        cpu = {c: resources.get(c, {}).get("requests", {}).get("cpu", 1.0) for c in COMPONENTS}
        database, module = env.database_url, app.replica_module() if local else ""
        self.observer = Observer(
            (lambda: app_processes(database, module)) if local else (lambda: platform_replicas(control)), cpu
        )
        self.policies = hpa_policies(documents)
        rollout, templates = rollout_documents(documents)
        self.schedule = canary_schedule(rollout, templates) if rollout is not None else []
        self.has_rollout = rollout is not None
        self.t0 = self.wall_start = time.time()
        self.deployed = True
        self.weights: list[tuple[float, int]] = []

    @property
    def canary_version(self) -> str:
        return str(self.scenario.canary.get("version", "v2"))

    def begin(self) -> None:
        self.observer.start()
        self.t0 = self.wall_start = time.time()
        self.deployed = not self.scenario.kind.startswith("canary")

    def sample(self) -> dict[str, Any]:
        """Every second of the load: deploy the canary once user traffic flows (a rollout under load,
        not one whose first steps pass while Locust starts); for the timeline, the replicas as
        observed and the weight as the platform reports it."""
        if not self.deployed and (self._traffic_flows() or time.time() - self.wall_start > DEPLOY_WAIT_S):
            self._deploy()
        counts = self.observer.series.counts[-1][1] if self.observer.series.counts else {}
        weight = self.control.rollout().weight if self.has_rollout else 0
        self.weights.append((time.time(), weight))
        return {"replicas": {c: sum(v.values()) for c, v in counts.items()}, "canary_weight": weight}

    def _traffic_flows(self) -> bool:
        return any(n for _, by_version in self.observer.series.traffic for n, _ in by_version.values())

    def _deploy(self) -> None:
        self.deployed, self.t0 = True, time.time()
        settings = {k: str(v) for k, v in (self.scenario.canary.get("settings") or {}).items()}
        self.control.deploy(self.canary_version, canary=True, settings=settings)

    def finish(self, run: LocustRun, evidence: list[str]) -> list[Result]:
        self.observer.stop()
        if not self.deployed:
            why = "the canary was never deployed: the load ended first"
            return [error_result(f"LOAD-{self.scenario.id}", self.scenario.title, why, evidence)]
        reported = self.control.rollout() if self.has_rollout else None
        self._write_evidence(reported)
        evidence = [*evidence, f"evidence/load/{self.scenario.id}/observed.json"]
        results = self._errors(evidence)
        if self.scenario.kind == "autoscaling":
            return results + self._autoscaling(run, evidence)
        return results + self._canary(reported, evidence)

    def close(self) -> None:
        """Leave the environment as found: no canary left in flight."""
        self.observer.stop()
        if self.has_rollout and self.control.rollout().canary_version is not None:
            self.control.abort()

    def analysis(self) -> list[dict[str, Any]]:
        """The platform's analysis measurements, for the timeline (t: wall seconds)."""
        status = self.control.rollout() if self.has_rollout else None
        return [
            {"at": m.at, "metric": f"{run.name}/{m.metric}", "value": _number(m.value), "phase": m.phase}
            for run in (status.analysis_runs if status else ())
            for m in run.measurements
        ]

    def _autoscaling(self, run: LocustRun, evidence: list[str]) -> list[Result]:
        component = self.scenario.component
        series = self.observer.series
        seen = Observed(
            series.count(component),
            series.demand(component),
            _load_end(run, self.wall_start),
            self.control.time_scale,
            run.host_cpu_mean,
            self.source,
        )
        return hpa_results(
            self.policies.get(component), component, seen, evidence=evidence, proven_on=self.control.platform
        )

    def _canary(self, reported: RolloutStatus | None, evidence: list[str]) -> list[Result]:
        rid = f"LOAD-{self.scenario.id}"
        series = self.observer.series
        account = (
            "no Rollout"
            if reported is None
            else (f"phase {reported.phase}, aborted={reported.aborted}, {reported.message or 'no message'}")
        )
        seen = CanaryObserved(
            self.t0,
            self.canary_version,
            series.traffic,
            {c: series.versions_at_end(c) for c in COMPONENTS},
            self.control.time_scale,
            account,
        )
        if self.scenario.kind == "canary-promotion":
            results = [promotion_result(f"{rid}-promoted", seen, self.schedule, evidence)]
        else:
            results = [rollback_result(f"{rid}-aborted", seen, evidence)]
        results.append(exposure_result(f"{rid}-exposure", seen, self.schedule, evidence))
        for r in results:
            r.proven_on = self.control.platform
            r.measured["time_scale"] = self.control.time_scale
        return results

    def _errors(self, evidence: list[str]) -> list[Result]:
        if not self.observer.errors:
            return []
        return [load_result(f"LOAD-{self.scenario.id}-observer", "the stage's observations", Status.ERROR,
                            "; ".join(self.observer.errors[:5]), evidence, proven_on="psutil, httpx")]

    def _write_evidence(self, reported: RolloutStatus | None) -> None:
        series = self.observer.series
        autoscalers = {c: self.control.autoscaler(c) for c in COMPONENTS}
        body = {
            "observed_by": self.source,
            "t0": self.t0,
            "time_scale": self.control.time_scale,
            "counts": series.counts,
            "cpu": series.cpu,
            "traffic": series.traffic,
            "platform": self.control.platform,
            "reported_weights": self.weights,
            "reported_rollout": asdict(reported) if reported else None,
            "reported_autoscalers": {c: asdict(a) for c, a in autoscalers.items() if a is not None},
        }
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / "observed.json").write_text(json.dumps(body, indent=1, default=str))


def _load_end(run: LocustRun, fallback: float) -> float:
    """Wall time at which the offered load dropped (the last second at peak users)."""
    if not run.history:
        return fallback
    peak = max(r["users"] for r in run.history)
    return float(max(r["ts"] for r in run.history if r["users"] == peak))


def _number(value: str) -> float | str:
    """``"[0.81]"`` or ``"0.81"`` as 0.81 (for the chart); anything else as it was."""
    text = value.strip().removeprefix("[").removesuffix("]")
    try:
        return float(text)
    except ValueError:
        return value


def scenario_documents(config_manifests: Path, overlay: str) -> list[dict[str, Any]]:
    """The rendered overlay the target deploys (``manifests/overlays/<overlay>``)."""
    from harness.k8s import render_overlay

    return [dict(d) for d in render_overlay(config_manifests / "overlays" / overlay)]


def reported_analysis(entries: Sequence[Mapping[str, Any]], t0: float) -> list[dict[str, Any]]:
    """Timeline rows (``t`` relative to ``t0``) from :meth:`ControlSession.analysis`."""
    return [
        {**{k: v for k, v in e.items() if k != "at"}, "t": round(float(e["at"]) - t0, 1)} for e in entries
    ]


__all__ = ["ControlSession", "reported_analysis", "scenario_documents"]
