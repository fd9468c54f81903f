"""The load stage: Locust load shapes with SLO gates, autoscaling and canary validation.

For each scenario of ``scenarios/load`` that runs in the profile: Locust runs the shape in its own
process against the API (:mod:`.runner`); SLOs become ``SLO-*`` results; scenarios that need the
platform's controllers (autoscaling, canaries) act and observe through the Control (:mod:`.session`)
and are skipped, saying so, on a target without one. What Locust achieved is not a check: it is the
``LOAD-<id>-generator`` *summary* (``ResultKind.SUMMARY``: shown, never evidence) and
``evidence/load/<id>/generator.json``; a run that sent no request makes that summary an ``error``
(which gates) and nothing else is judged. Evidence goes to ``evidence/load/``: Locust's CSV/HTML/log
per scenario, the stage's observations and ``timeline.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.app_profile import AppProfile
from harness.errors import HarnessError
from harness.results import Result, ResultKind, Severity, Status
from harness.stages.base import StageContext
from harness.stages.load.alert_checks import alert_results
from harness.stages.load.checks import load_result
from harness.stages.load.runner import LocustRun, locust_version, run_locust
from harness.stages.load.scenario import FLOW_ROUTES, LoadScenario, load_scenarios
from harness.stages.load.session import ControlSession, reported_analysis, scenario_documents
from harness.stages.load.shapes import stretch
from harness.stages.load.slo import evaluate_slos
from harness.targets.base import Environment

NEEDS_CONTROL = ("autoscaling", "canary-rollback", "canary-promotion")


class LoadStage:
    NAME = "load"
    NEEDS_ENVIRONMENT = True

    def run(self, ctx: StageContext) -> Generator[Result, None, None]:
        """Each scenario's results as soon as it finishes (an interrupted run keeps those)."""
        env = ctx.environment
        if env is None:
            yield _skipped("LOAD-environment", "load needs a running environment")
            return
        options = LoadOptions.from_section(ctx.config.load or {})
        only = set(options.scenarios) or None
        scenarios = load_scenarios(ctx.config.paths.scenarios / "load", ctx.profile, only)
        if not scenarios:
            yield _skipped("LOAD-scenarios", f"no load scenario runs in profile {ctx.profile!r}")
            return
        out = ctx.evidence_dir / "load"
        out.mkdir(parents=True, exist_ok=True)
        stage_run = _StageRun(ctx, env, out, Timeline(time.time()), options)
        try:
            for scenario in scenarios:
                yield from stage_run.scenario(scenario)
        finally:  # also when interrupted: the timeline of what ran is evidence for the results kept
            timeline = json.dumps(stage_run.timeline.to_dict(), indent=1, default=str)
            (out / "timeline.json").write_text(timeline, encoding="utf-8")


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """``[load]``, typed (the config schema has refused unknown keys and wrong types, naming the file
    and the key); ``processes`` is also ``--load-workers``."""

    scenarios: tuple[str, ...] = ()
    overlay: str = "local"
    processes: int | None = None  # None: each scenario's own

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> LoadOptions:
        processes = section.get("processes")
        return cls(scenarios=tuple(section.get("scenarios") or ()),
                   overlay=str(section.get("overlay", "local")),
                   processes=int(processes) if processes is not None else None)


@dataclass(slots=True)
class _StageRun:
    """One run of the stage: what every scenario shares."""

    ctx: StageContext
    env: Environment
    out: Path
    timeline: Timeline
    options: LoadOptions

    def scenario(self, scenario: LoadScenario) -> list[Result]:
        started = time.monotonic()
        try:
            results = self._guarded(scenario)
        except HarnessError as exc:
            results = [_error(scenario, str(exc))]
        for result in results:
            result.duration_s = result.duration_s or time.monotonic() - started
        return results

    def _guarded(self, scenario: LoadScenario) -> list[Result]:
        env = self.env
        if not env.users:
            return [_skipped(f"LOAD-{scenario.id}", "the environment has no test users")]
        if scenario.kind not in NEEDS_CONTROL:
            return self._with_load(scenario, None)
        if env.control is None:
            why = f"target {env.target!r} has no control handle; {scenario.kind} needs one"
            return [_skipped(f"LOAD-{scenario.id}", why)]
        overlay = self.options.overlay
        documents = scenario_documents(self.ctx.config.paths.manifests, overlay)
        session = ControlSession(env, env.control, scenario, documents, self.out / scenario.id,
                                 self.ctx.app_profile)
        if scenario.kind.startswith("canary") and not session.has_rollout:
            why = f"manifests/overlays/{overlay} declares no canary Rollout"
            return [_error(scenario, why, Status.FAILED)]
        try:
            return self._with_load(scenario, session)
        finally:
            session.close()

    def _with_load(self, scenario: LoadScenario, session: ControlSession | None) -> list[Result]:
        ctx, env, out, timeline, options = self.ctx, self.env, self.out, self.timeline, self.options
        stages = list(scenario.stages)
        if session is not None:
            stages = stretch(stages, scenario.stretch_for(session.control.time_scale))
            session.begin()
        since = time.time()
        run = run_locust(
            scenario.id,
            host=env.api_url,
            tokens=[u.token for u in env.users],
            stages=stages,
            out_dir=out / scenario.id,
            mix=dict(scenario.mix),
            sizes=dict(scenario.sizes),
            processes=options.processes or scenario.processes,
            workers=env.load_workers,
            on_tick=session.sample if session is not None else None,
            extra={"wait_s": list(scenario.wait_s), "app": _app_for(ctx.app_profile, scenario),
                   "requests": dict(scenario.requests)},
        )
        generator = _generator(run, out / scenario.id / "generator.json")
        evidence = [str(p.relative_to(ctx.run_dir)) for p in [*run.files.values(), generator]]
        evidence.append("evidence/load/timeline.json")
        summary = _summary(scenario, run, json.loads(generator.read_text()), evidence)
        if summary.status is Status.ERROR:
            return [summary]
        results = [summary, *evaluate_slos(scenario.slos, run.flows, scenario=scenario.id, evidence=evidence)]
        for result in results:
            result.proven_on = locust_version()
        if session is not None:
            results += session.finish(run, evidence)
        if scenario.data_check:
            from harness.stages.load.data import data_loss_check

            rid = f"LOAD-{scenario.id}-no-data-loss"
            results.append(data_loss_check(env, ctx.app_profile, run, rid, evidence))
        if scenario.alerts:
            results += alert_results(scenario.id, scenario.alerts, env.prometheus_url, since, evidence)
        timeline.add(scenario.id, run, session)
        return results


def _app_for(app: AppProfile, scenario: LoadScenario) -> dict[str, Any]:
    """The app's routes and auth for Locust, once every route the scenario's flows use is known
    (a missing one is a config error naming ``scenarios/app.yaml`` and the key, before any load)."""
    for flow, weight in scenario.mix.items():
        for route in FLOW_ROUTES.get(flow, ()) if weight else ():
            app.route(route, id="")
    return app.to_dict()


def _summary(scenario: LoadScenario, run: LocustRun, figures: dict[str, Any], evidence: list[str]) -> Result:
    """``LOAD-<id>-generator``: what Locust did (a summary, never evidence); an error if it sent nothing."""
    sent = int(figures["http_requests"])
    bound = " Locust was CPU-bound: the figures understate the system." if run.cpu_bound else ""
    per_worker = ", ".join(f"{w['requests']}" for w in run.workers.values())
    per_core = f"; {run.rps_per_core:.0f} requests per CPU-second" if run.rps_per_core else ""
    workers = f" (per worker: {per_worker} requests)" if run.workers else ""
    message = (
        f"{sent} HTTP requests, {figures['rps']:.1f} req/s; Locust: {run.processes} process(es), "
        f"{run.where}{workers}{per_core}.{bound}"
        if sent
        else f"Locust sent no request (exit {run.returncode}; see {evidence[-2]}): nothing was measured"
    )
    return load_result(f"LOAD-{scenario.id}-generator", f"{scenario.id}: load generator",
                       Status.PASSED if sent else Status.ERROR, message, evidence,
                       measured={k: v for k, v in figures.items() if isinstance(v, int | float | str)},
                       severity=Severity.INFO if sent else Severity.HIGH, proven_on=locust_version(),
                       kind=ResultKind.SUMMARY)


def _generator(run: LocustRun, path: Path) -> Path:
    """What the load generator achieved, and whether it was the bottleneck (evidence, not a check)."""
    http = run.flows.get("http")
    figures = {
        "http_requests": http.requests if http else 0,
        "rps": round(http.rps, 2) if http else 0.0,
        "rps_per_core": round(run.rps_per_core or 0.0, 1),
        "locust_cpu_s": round(run.cpu_seconds, 2),
        "locust_peak_cpu_pct": round(run.peak_process_cpu, 1),
        "cpu_bound": str(run.cpu_bound).lower(),
        "host_cpu_pct": round(run.host_cpu_mean, 1),
        "processes": run.processes,
        "workers_where": run.where,
        "workers": run.workers,  # per worker: requests, failures, peak users (from the master's reports)
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=1))
    return path


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
            self.analysis += [
                {**a, "scenario": scenario} for a in reported_analysis(session.analysis(), self.t0)
            ]
        self.scenarios.append({"id": scenario, "from_sample": start, "to_sample": len(self.samples)})

    def to_dict(self) -> dict[str, Any]:
        return {
            "t0": self.t0,
            "samples": self.samples,
            "analysis": self.analysis,
            "scenarios": self.scenarios,
        }


def _error(scenario: LoadScenario, message: str, status: Status = Status.ERROR) -> Result:
    return load_result(f"LOAD-{scenario.id}", scenario.title, status, message, location=scenario.source)


def _skipped(rid: str, why: str) -> Result:
    return load_result(rid, rid, Status.SKIPPED, why, severity=Severity.INFO)


__all__ = ["LoadOptions", "LoadStage", "Timeline"]
