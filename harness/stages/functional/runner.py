"""Run one scenario against an Environment: steps in order, evidence for every step.

Outcome: ``passed``; ``failed`` (an expectation was not met: the system broke a rule); ``skipped``
(a step needs what the target lacks, e.g. the control handle); ``error`` (the scenario or the harness
is wrong). Fault actions are undone afterwards whatever happened (:func:`steps_env.heal`).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness.app_profile import AppProfile, load_app_profile
from harness.errors import ConfigError
from harness.redact import Redactor
from harness.stages.functional import (
    steps_abuse,
    steps_alerts,
    steps_data,
    steps_env,
    steps_http,
    steps_settle,
    steps_slow,
)
from harness.stages.functional.backends import Backends, UserHandle
from harness.stages.functional.client import Api, Recorder, SseStream
from harness.stages.functional.context import Context, ScenarioError, StepFailed, StepSkipped, Upload
from harness.stages.functional.scenario import Scenario, action_of
from harness.targets.base import Environment

Scope = dict[str, Any] | None
StepFn = Callable[[Context, dict[str, Any], dict[str, Any], Scope], Any]
DuringFn = Callable[[Context, dict[str, Any], dict[str, Any], Scope, Callable[[], list[str]]], Any]
# Steps that only observe what a platform service made of the run (Prometheus' alerts): without that
# service they are skipped, with the reason in the message, and the scenario's own verdict stands.
OBSERVERS = ("alerts",)
MAX_ITERATIONS = 1000  # of a repeat: the schema's maximum of ``times``; checked for ``for_s``
DEFAULT_LIMITS: dict[str, Any] = {"max_upload_bytes": 25 * 1024 * 1024, "pad_9k": "p" * 9 * 1024,
                                  "pad_70k": "p" * 70 * 1024, "pad_300": "p" * 300}


@dataclass(slots=True)
class Outcome:
    """What a scenario run produced (the stage turns it into a Result)."""

    status: str  # passed | failed | skipped | error
    message: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    measured: dict[str, float | int | str] = field(default_factory=dict)
    duration_s: float = 0.0
    failed_step: int | None = None


@dataclass(slots=True)
class RunnerOptions:
    isolated_users: bool = True
    limits: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    # the stage passes the run's; tests and benchmarks get the current project's scenarios/app.yaml
    app: AppProfile = field(default_factory=lambda: load_app_profile(Path("scenarios")))
    evidence_dir: str | None = None
    timeout_s: float = 60.0
    transport: httpx.BaseTransport | None = None  # tests: an httpx.MockTransport

    @classmethod
    def from_config(cls, options: dict[str, Any], app: AppProfile) -> RunnerOptions:
        return cls(app=app,
            isolated_users=bool(options.get("isolated_users", True)),
            limits={**DEFAULT_LIMITS, **(options.get("limits") or {})},
            timeout_s=float(options.get("http_timeout_s", 60.0)),
        )


class ScenarioRunner:
    """Executes scenarios against one environment (thread-safe: one Context per run)."""

    def __init__(self, env: Environment, options: RunnerOptions | None = None,
                 redactor: Redactor | None = None) -> None:
        self.env = env
        self.options = options or RunnerOptions()
        self.redactor = redactor or Redactor()  # the run's: learns the tokens of the users we create
        self.steps: dict[str, StepFn] = {
            "upload": steps_http.upload, "request": steps_http.request, "events": steps_http.events,
            "wait": steps_http.wait, "download": steps_http.download, "processed": steps_data.processed,
            "db": steps_data.db, "subscribers": steps_data.subscribers, "until": steps_data.until,
            "invariants": steps_data.invariants, "action": steps_env.action, "ready": steps_env.ready,
            "repeat": self._repeat, "browser": _browser, "posture": _posture, "hostile": steps_abuse.hostile,
            "hold": self._with_during(steps_abuse.hold), "slow": self._with_during(steps_slow.slow),
            "alerts": steps_alerts.alerts, "crash": steps_settle.crash, "settled": steps_settle.settled,
            "abandon": steps_settle.abandon,
        }

    def run(self, scenario: Scenario) -> Outcome:
        began = time.monotonic()
        recorder = Recorder()
        api = Api(self.env.api_url, recorder, timeout=self.options.timeout_s,
                  transport=self.options.transport)
        backends = Backends(self.env, self.options.app)
        outcome = Outcome("passed", "")
        ctx: Context | None = None
        try:
            ctx = self._context(scenario, api, backends)
            ctx.healing["exclusive"] = scenario.exclusive
            self._steps(ctx, scenario, outcome)
        except ScenarioError as exc:
            outcome.status, outcome.message = "error", f"{scenario.source}: {exc}"
        except ConfigError as exc:  # the app profile lacks what a step needs: it names file and key
            outcome.status, outcome.message = "error", str(exc)
        except StepSkipped as exc:
            outcome.status, outcome.message = "skipped", str(exc)
        except Exception as exc:  # the harness broke: say where
            outcome.status = "error"
            outcome.message = f"harness error: {type(exc).__name__}: {exc}"
            outcome.steps.append({"traceback": traceback.format_exc(limit=8)})
        finally:
            if ctx is not None:
                notes = steps_env.heal(ctx)
                if notes:
                    outcome.steps.append({"healing": notes})
                outcome.measured = dict(ctx.measured)
            api.close()
        outcome.duration_s = time.monotonic() - began
        outcome.measured.update({"steps": len(scenario.steps), "http_exchanges": len(recorder.exchanges)})
        return outcome

    def _context(self, scenario: Scenario, api: Api, backends: Backends) -> Context:
        users = self._users(scenario, backends)
        isolated = all(u.id for u in users.values()) and self.options.isolated_users
        limits = {**self.options.limits, "evidence_dir": self.options.evidence_dir}
        return Context(self.env, api, backends, users, isolated, limits)

    def _users(self, scenario: Scenario, backends: Backends) -> dict[str, UserHandle]:
        if self.options.isolated_users and backends.has_database:
            made = {name: backends.create_user(name) for name in scenario.users}
            self.redactor.register(*(u.token for u in made.values()))
            return made
        if len(self.env.users) < len(scenario.users):
            raise StepSkipped(f"needs {len(scenario.users)} users; target {self.env.target!r} "
                              f"offers {len(self.env.users)}")
        return {name: UserHandle(name, user.token) for name, user in zip(scenario.users, self.env.users,
                                                                         strict=False)}

    def _steps(self, ctx: Context, scenario: Scenario, outcome: Outcome) -> None:
        """Stop at the first broken step, or (``continue_on_failure``, for catalogs) run them all."""
        broken: list[str] = []
        unchecked: list[str] = []
        for index, step in enumerate(scenario.steps):
            record = self._step(ctx, step, index, None)
            outcome.steps.append(record)
            if record["status"] == "passed":
                continue
            if record["status"] == "skipped" and action_of(step) in OBSERVERS:
                unchecked.append(f"steps[{index}] not checked: {record['message']}")
                continue
            if outcome.failed_step is None:
                outcome.status, outcome.failed_step = record["status"], index
            broken.append(f"steps[{index}] ({step.get('name') or action_of(step)}): {record['message']}")
            if not scenario.continue_on_failure or record["status"] == "skipped":
                break
        if broken:
            extra = f" (+{len(broken) - 1} more: {'; '.join(broken[1:])})" if len(broken) > 1 else ""
            outcome.message = broken[0] + extra
            ctx.measure("broken_steps", len(broken))
        else:
            passed = len(scenario.steps) - len(unchecked)
            outcome.message = "; ".join([f"{passed} steps passed", *unchecked])

    def _step(self, ctx: Context, step: dict[str, Any], index: int,
              scope: dict[str, Any] | None) -> dict[str, Any]:
        kind = action_of(step)
        record: dict[str, Any] = {"index": index, "action": kind, "name": step.get("name"),
                                  "t": round(time.monotonic() - ctx.started, 4)}
        recorder = ctx.api.recorder
        first = len(recorder.exchanges)
        began = time.monotonic()
        try:
            spec = ctx.render(step[kind], scope) if kind != "repeat" else step[kind]
            expect = ctx.render(step.get("expect") or {}, scope)
            value = self.steps[kind](ctx, spec, expect, scope)
            ctx.remember(step.get("as"), value, scope)
            record.update(status="passed", message="", detail=_detail(value))
        except StepFailed as exc:
            record.update(status="failed", message=_naming(step.get("guards"), str(exc)))
            if exc.detail is not None:
                record["detail"] = _detail(exc.detail)
        except StepSkipped as exc:
            record.update(status="skipped", message=str(exc))
        record["duration_s"] = round(time.monotonic() - began, 4)
        if scope is None:
            record["exchanges"] = [e.to_dict() for e in recorder.exchanges[first:]]
        return record

    def _with_during(self, step: DuringFn) -> StepFn:
        """A step that runs its ``during`` steps (in order, up to the first broken one) while it acts."""
        def run(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope) -> Any:
            def during() -> list[str]:
                broken: list[str] = []
                for index, nested in enumerate(spec.get("during") or []):
                    record = self._step(ctx, nested, index, scope)
                    if record["status"] != "passed":
                        name = nested.get("name") or action_of(nested)
                        broken.append(f"during[{index}] ({name}): {record['message']}")
                        break
                return broken

            return step(ctx, spec, expect, scope, during)

        return run

    def _repeat(self, ctx: Context, spec: dict[str, Any], expect: dict[str, Any],
                scope: dict[str, Any] | None) -> dict[str, Any]:
        """``times`` iterations, or as many as ``concurrency`` workers start in ``for_s`` seconds, each
        worker at most one every ``every_s``: a duration, not a count, where what the scenario needs
        is time (an alert's ``for``) whatever one request takes on this machine (a 503 took 2 s or
        20 ms here). Every iteration runs to its end or first broken step."""
        workers = int(spec.get("concurrency", 1))
        for_s, every_s = float(spec.get("for_s", 0)), float(spec.get("every_s", 0))
        if for_s and (most := math.ceil(for_s / every_s) * workers) > MAX_ITERATIONS:
            raise ScenarioError(f"repeat: for_s / every_s x concurrency allows {most} iterations, "
                                f"more than {MAX_ITERATIONS}")
        ctx.concurrent = workers > 1
        began = time.monotonic()
        until = began + for_s
        numbers = itertools.count()
        lock = threading.Lock()

        def iteration(i: int) -> list[dict[str, Any]]:
            local: dict[str, Any] = {"i": i}
            records = []
            for index, step in enumerate(spec["steps"]):
                records.append(self._step(ctx, step, index, local))
                if records[-1]["status"] != "passed":
                    break
            return records

        def for_a_while(_: int) -> list[tuple[int, list[dict[str, Any]]]]:
            done = []
            while (started := time.monotonic()) < until:
                with lock:
                    i = next(numbers)
                done.append((i, iteration(i)))
                time.sleep(max(0.0, started + every_s - time.monotonic()))
            return done

        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scn-repeat") as pool:
                if for_s:
                    runs = sorted((r for rs in pool.map(for_a_while, range(workers)) for r in rs),
                                  key=lambda r: r[0])
                else:
                    runs = list(enumerate(pool.map(iteration, range(int(spec["times"])))))
        finally:
            ctx.concurrent = False
        times = len(runs)
        bad = [(i, r) for i, rs in runs for r in rs if r["status"] != "passed"]
        ctx.measure("repeat_iterations", times)
        if bad:
            i, record = bad[0]
            message = f"{len(bad)} of {times} iterations broke; first (i={i}, step {record['index']}): " \
                      f"{record['message']}"
            raise (StepSkipped if record["status"] == "skipped" else StepFailed)(message)
        return {"iterations": times, "concurrency": workers, "took_s": round(time.monotonic() - began, 2)}


def _naming(guards: Any, message: str) -> str:
    """A failure of a step that ``guards`` a class names it first (a generic step, e.g. ``request``,
    does not know which class of defect its expectation guards; the scenario does)."""
    if not guards or message.startswith(f"{guards}:"):
        return message
    return f"{guards}: {message}"


def _detail(value: Any) -> Any:
    if isinstance(value, SseStream):
        return {"sse": [e.to_dict() for e in value.events], "heartbeats": value.comments,
                "ended_by": value.ended_by, "status": value.exchange.status}
    if isinstance(value, Upload):
        return {"upload_id": value.id, "sha256": value.sha256, "size": value.size, "kind": value.kind}
    if isinstance(value, list) and all(isinstance(v, Upload) for v in value):
        return {"uploads": [v.id for v in value]}
    if isinstance(value, dict | int | float | str) or value is None:
        return value
    with contextlib.suppress(Exception):
        return {"status": value.status}
    return str(value)


def _browser(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: dict[str, Any] | None) -> Any:
    from harness.stages.functional.browser import browser_step

    return browser_step(ctx, spec, expect)


def _posture(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: dict[str, Any] | None) -> Any:
    from harness.stages.functional.posture import posture_step

    return posture_step(ctx, spec, expect)


__all__ = ["Outcome", "RunnerOptions", "ScenarioRunner"]
