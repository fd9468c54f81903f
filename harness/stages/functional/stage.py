"""The functional stage: every scenario of ``scenarios/functional`` against the Environment.

Ordinary scenarios run concurrently (``[functional] concurrency``, default 4): each has its own
users, so they cannot see each other's rows. Scenarios that act on the environment (fault drills)
are ``exclusive`` and run afterwards, one at a time. Evidence: ``evidence/functional/<name>.json``
(steps, HTTP exchanges, SSE transcripts with timestamps, timings) and browser screenshots.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.redact import Redactor
from harness.results import Result, Severity, Status
from harness.services.prometheus_api import PrometheusApi
from harness.stages.base import StageContext
from harness.stages.functional.runner import Outcome, RunnerOptions, ScenarioRunner
from harness.stages.functional.scenario import Scenario, load_scenarios, walk_actions
from harness.stages.functional.steps_alerts import unreachable_alerts
from harness.targets.base import Environment

STAGE = "functional"
DEFAULT_CONCURRENCY = 4
ALERT_CONTROLS = ("EU-C-OBS-02",)  # alerts fire when they should (policies/controls.yaml)


class FunctionalStage:
    """Upload -> process -> SSE -> download works; bad input is refused cleanly; faults lose nothing."""

    NAME = STAGE
    NEEDS_ENVIRONMENT = True

    def run(self, ctx: StageContext) -> Iterator[Result]:
        section = ctx.config.stage_options(STAGE)
        options = FunctionalOptions.from_section(section)
        if ctx.environment is None:
            yield _skipped("SCN-environment", "the functional stage needs a running environment")
            return
        scenarios = self.scenarios(ctx, options)
        if not scenarios:
            yield _skipped("SCN-scenarios", f"no functional scenario runs in profile {ctx.profile!r}")
            return
        out = ctx.evidence_dir / STAGE
        out.mkdir(parents=True, exist_ok=True)
        runner_options = RunnerOptions.from_config(section, ctx.app_profile)
        runner_options.evidence_dir = str(ctx.evidence_dir)
        runner = ScenarioRunner(ctx.environment, runner_options, ctx.redactor)
        env = ctx.environment
        yield from run_all(runner, scenarios, options.concurrency,
                           lambda s, o: to_result(s, o, out, ctx.run_dir, proven_on(s, env), ctx.redactor))
        yield from (alert_not_checked(s, name, why) for s in scenarios
                    for name, why in unreachable_alerts(s.steps).items())

    @staticmethod
    def scenarios(ctx: StageContext, options: FunctionalOptions) -> list[Scenario]:
        directory = Path(options.directory or ctx.config.paths.scenarios / STAGE)
        if not directory.is_dir():
            raise ConfigError(f"functional: scenario directory {directory} does not exist")
        found = load_scenarios(directory, profile=ctx.profile, only=set(options.scenarios) or None,
                               root=ctx.config.root)
        return [s for s in found if s.name not in options.skip and (options.include_slow or not s.slow)]


@dataclass(frozen=True, slots=True)
class FunctionalOptions:
    """The stage's part of ``[functional]`` (the runner's: :class:`RunnerOptions`). The config schema
    has refused unknown keys and wrong types already, naming the file and the key."""

    directory: str | None = None
    scenarios: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    include_slow: bool = True
    concurrency: int = DEFAULT_CONCURRENCY

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> FunctionalOptions:
        return cls(directory=section.get("directory"), scenarios=tuple(section.get("scenarios") or ()),
                   skip=tuple(section.get("skip") or ()),
                   include_slow=bool(section.get("include_slow", True)),
                   concurrency=int(section.get("concurrency", DEFAULT_CONCURRENCY)))


def run_all(runner: ScenarioRunner, scenarios: list[Scenario], concurrency: int,
            report: Callable[[Scenario, Outcome], Result]) -> Iterator[Result]:
    """Shared scenarios in a pool, then exclusive ones alone; each result yielded as soon as its
    scenario finishes (so an interrupted run keeps it). Interrupted, queued scenarios are
    cancelled and running ones not waited for."""
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="scn")
    try:
        running = {pool.submit(runner.run, s): s for s in scenarios if not s.exclusive}
        for future in as_completed(running):
            yield report(running[future], future.result())
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for scenario in (s for s in scenarios if s.exclusive):
        yield report(scenario, runner.run(scenario))


def proven_on(scenario: Scenario, env: Environment) -> str:
    """What produced the evidence: the platform acting for a fault drill or posture check (as its
    Control says), Chromium for the page, else the app answering over HTTP on this target; and the
    Prometheus that judged the scenario's ``alerts`` steps."""
    platform = env.control.platform if env.control is not None else f"target {env.target!r}"
    actions = walk_actions(scenario.steps)
    if scenario.needs_control or "posture" in actions:
        proven = platform
    elif "hostile" in actions:  # memory as the platform reports it, answers over HTTP
        proven = f"{platform} (replica memory) and HTTP (httpx)"
    elif scenario.needs_browser:
        proven = f"Chromium via Playwright, against {platform}"
    else:
        proven = f"HTTP (httpx) against {platform}"
    if "alerts" in actions and env.prometheus_url and "Prometheus" not in proven:
        proven += f"; alerts: {PrometheusApi(env.prometheus_url).name}"
    return proven


def alert_not_checked(scenario: Scenario, alert: str, why: str) -> Result:
    """An alert the scenario would raise in a cluster but that cannot fire here: skipped, with why."""
    return Result(id=f"PROM-ALERT-{scenario.name}-{alert}", stage=STAGE, severity=Severity.INFO,
                  title=f"{alert} fires in {scenario.name}", status=Status.SKIPPED,
                  controls=list(ALERT_CONTROLS), location=scenario.source, message=f"not checked here: {why}",
                  proven_on="nothing (not checked on this target)")


def to_result(scenario: Scenario, outcome: Outcome, out: Path, run_dir: Path,
              proven: str | None = None, redactor: Redactor | None = None) -> Result:
    evidence = write_evidence(scenario, outcome, out, redactor)
    shots = sorted(str(p.relative_to(run_dir)) for p in (out / "screenshots").glob("*.png")) \
        if scenario.needs_browser and (out / "screenshots").is_dir() else []
    return Result(
        id=scenario.result_id, stage=STAGE, title=scenario.title, status=Status(outcome.status),
        severity=Severity(scenario.severity), controls=list(scenario.controls),
        location=scenario.source + ("" if outcome.failed_step is None else f" steps[{outcome.failed_step}]"),
        message=outcome.message, evidence=[str(evidence.relative_to(run_dir)), *shots],
        duration_s=outcome.duration_s, measured=dict(outcome.measured),
        remediation=None if outcome.status != "failed" else f"see {evidence.name}: the failing step",
        proven_on=proven,
    )


def write_evidence(scenario: Scenario, outcome: Outcome, out: Path, redactor: Redactor | None = None) -> Path:
    """The scenario's evidence file, redacted as it is written (the run redacts it again at its end)."""
    document = {
        "scenario": scenario.name, "title": scenario.title, "source": scenario.source,
        "category": scenario.category, "status": outcome.status, "message": outcome.message,
        "duration_s": round(outcome.duration_s, 4), "measured": outcome.measured,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "steps": outcome.steps,
    }
    path = out / f"{scenario.name}.json"
    path.write_text(json.dumps((redactor or Redactor()).redact_data(document), indent=1, default=str))
    return path


def run_scenarios(env: Environment, scenarios: list[Scenario], *, concurrency: int = DEFAULT_CONCURRENCY,
                  options: RunnerOptions | None = None) -> dict[str, Outcome]:
    """Scenarios' outcomes without writing results (tests, benchmarks)."""
    runner = ScenarioRunner(env, options)
    outcomes: dict[str, Outcome] = {}

    def keep(scenario: Scenario, outcome: Outcome) -> Result:
        outcomes[scenario.name] = outcome
        return _skipped(scenario.result_id, "not reported")

    for _ in run_all(runner, scenarios, concurrency, keep):
        pass
    return outcomes


def _skipped(result_id: str, why: str) -> Result:
    return Result(id=result_id, stage=STAGE, title=why, status=Status.SKIPPED, severity=Severity.INFO,
                  message=why)


__all__ = [
    "FunctionalOptions",
    "FunctionalStage",
    "alert_not_checked",
    "proven_on",
    "run_all",
    "run_scenarios",
    "to_result",
    "write_evidence",
]
