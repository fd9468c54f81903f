"""The load stage: Locust load shapes with SLO gates, autoscaling and canary validation.

For each scenario of ``scenarios/load`` that runs in the profile: Locust runs the shape in its own
process against the API (:mod:`.runner`); SLOs become ``SLO-*`` results; scenarios that need the
control plane (autoscaling, canaries) run it next to the load (:mod:`.control`). Evidence goes to
``evidence/load/``: Locust's CSV/HTML/log per scenario and ``timeline.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.results import Result, Severity, Status
from harness.stages.base import StageContext
from harness.stages.load.control import ControlSession, open_session
from harness.stages.load.runner import LocustRun, run_locust
from harness.stages.load.scenario import LoadScenario, load_scenarios
from harness.stages.load.slo import evaluate_slos
from harness.targets.base import Environment

NEEDS_CONTROL = ("autoscaling", "canary-rollback", "canary-promotion")


class LoadStage:
    NAME = "load"
    NEEDS_ENVIRONMENT = True

    def run(self, ctx: StageContext) -> list[Result]:
        env = ctx.environment
        if env is None:
            return [_skipped("LOAD-environment", "load needs a running environment")]
        options = ctx.config.load or {}
        only = set(options["scenarios"]) if options.get("scenarios") else None
        scenarios = load_scenarios(ctx.config.paths.scenarios / "load", ctx.profile, only)
        if not scenarios:
            return [_skipped("LOAD-scenarios", f"no load scenario runs in profile {ctx.profile!r}")]
        out = ctx.evidence_dir / "load"
        out.mkdir(parents=True, exist_ok=True)
        timeline = Timeline(time.time())
        results: list[Result] = []
        for scenario in scenarios:
            results += self._scenario(ctx, env, scenario, out, timeline, options)
        (out / "timeline.json").write_text(json.dumps(timeline.to_dict(), indent=1, default=str))
        return results

    def _scenario(
        self,
        ctx: StageContext,
        env: Environment,
        scenario: LoadScenario,
        out: Path,
        timeline: Timeline,
        options: dict[str, Any],
    ) -> list[Result]:
        started = time.monotonic()
        try:
            if scenario.kind in NEEDS_CONTROL and env.control is None:
                return [
                    _skipped(
                        f"LOAD-{scenario.id}",
                        f"target {env.target!r} has no control handle; {scenario.kind} needs one",
                    )
                ]
            session = (
                open_session(env, ctx.config, scenario, out / scenario.id)
                if scenario.kind in NEEDS_CONTROL
                else None
            )
            if isinstance(session, str):
                return [_skipped(f"LOAD-{scenario.id}", session)]
            try:
                results = self._with_load(ctx, env, scenario, out, timeline, session, options)
            finally:
                if session is not None:
                    session.close()
        except HarnessError as exc:
            results = [
                Result(
                    id=f"LOAD-{scenario.id}",
                    stage="load",
                    title=scenario.title,
                    status=Status.ERROR,
                    message=str(exc),
                    location=scenario.source,
                )
            ]
        for result in results:
            result.duration_s = result.duration_s or time.monotonic() - started
        return results

    def _with_load(
        self,
        ctx: StageContext,
        env: Environment,
        scenario: LoadScenario,
        out: Path,
        timeline: Timeline,
        session: ControlSession | None,
        options: dict[str, Any],
    ) -> list[Result]:
        host = session.api_url if session is not None and session.api_url else env.api_url
        tokens = [u.token for u in env.users]
        if not tokens:
            return [_skipped(f"LOAD-{scenario.id}", "the environment has no test users")]
        if session is not None:
            session.begin()
        run = run_locust(
            scenario.id,
            host=host,
            tokens=tokens,
            stages=list(scenario.stages),
            out_dir=out / scenario.id,
            mix=dict(scenario.mix),
            sizes=dict(scenario.sizes),
            processes=int(options.get("processes", scenario.processes)),
            on_tick=session.sample if session is not None else None,
            extra={"wait_s": list(scenario.wait_s)},
        )
        evidence = [str(p.relative_to(ctx.run_dir)) for p in run.files.values()] + [
            "evidence/load/timeline.json"
        ]
        results = evaluate_slos(scenario.slos, run.flows, scenario=scenario.id, evidence=evidence)
        results.append(_throughput(scenario, run, evidence))
        if session is not None:
            results += session.finish(run, evidence)
        if scenario.data_check:
            from harness.stages.load.data import data_loss_check

            results.append(data_loss_check(env, run, f"LOAD-{scenario.id}-no-data-loss", evidence))
        timeline.add(scenario.id, run, session)
        return results


def _throughput(scenario: LoadScenario, run: LocustRun, evidence: list[str]) -> Result:
    """Informational: what the load generator achieved, and whether it was the bottleneck."""
    http = run.flows.get("http")
    rps_core = run.rps_per_core
    bound = " Locust was CPU-bound: the figures understate the system" if run.cpu_bound else ""
    return Result(
        id=f"LOAD-{scenario.id}-generator",
        stage="load",
        title=f"{scenario.id}: load generator",
        status=Status.PASSED,
        severity=Severity.INFO,
        evidence=evidence,
        message=f"{http.requests if http else 0} HTTP requests, {http.rps if http else 0:.1f} req/s with "
        f"{run.processes} Locust process(es); {rps_core or 0:.0f} requests per CPU-second.{bound}",
        measured={
            "http_requests": http.requests if http else 0,
            "rps": round(http.rps, 2) if http else 0.0,
            "rps_per_core": round(rps_core or 0.0, 1),
            "locust_cpu_s": round(run.cpu_seconds, 2),
            "locust_peak_cpu_pct": round(run.peak_process_cpu, 1),
            "cpu_bound": str(run.cpu_bound).lower(),
            "host_cpu_pct": round(run.host_cpu_mean, 1),
            "processes": run.processes,
        },
    )


class Timeline:
    """``evidence/load/timeline.json``: per-second load figures joined with replicas and weights."""

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.samples: list[dict[str, Any]] = []
        self.analysis: list[dict[str, Any]] = []
        self.scenarios: list[dict[str, Any]] = []

    def add(self, scenario: str, run: LocustRun, session: ControlSession | None) -> None:
        control = sorted(run.samples, key=lambda s: s["ts"])
        start = len(self.samples)
        for row in run.history:
            near = min(control, key=lambda s: abs(s["ts"] - row["ts"]), default={})
            self.samples.append(
                {
                    "t": round(row["ts"] - self.t0, 1),
                    "scenario": scenario,
                    "users": row["users"],
                    "rps": row["rps"],
                    "p50_ms": row["p50_ms"],
                    "p95_ms": row["p95_ms"],
                    "p99_ms": row["p99_ms"],
                    "replicas": near.get("replicas", {}),
                    "canary_weight": near.get("canary_weight", 0),
                }
            )
        if session is not None:
            offset = session.wall_start - self.t0
            self.analysis += [
                {**a, "t": round(offset + a["t"] / max(session.speedup, 1e-9), 1), "scenario": scenario}
                for a in session.analysis()
            ]
        self.scenarios.append({"id": scenario, "from_sample": start, "to_sample": len(self.samples)})

    def to_dict(self) -> dict[str, Any]:
        return {
            "t0": self.t0,
            "samples": self.samples,
            "analysis": self.analysis,
            "scenarios": self.scenarios,
        }


def _error(scenario: LoadScenario, message: str) -> Result:
    return Result(
        id=f"LOAD-{scenario.id}",
        stage="load",
        title=scenario.title,
        status=Status.ERROR,
        message=message,
        location=scenario.source,
    )


def _skipped(rid: str, why: str) -> Result:
    return Result(id=rid, stage="load", title=rid, status=Status.SKIPPED, message=why, severity=Severity.INFO)


__all__ = ["LoadStage", "Timeline"]
