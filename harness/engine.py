"""The engine: preflight -> target.up (only if a selected stage needs it) -> stages -> verdict ->
reports -> target.down.

It emits :mod:`harness.events` to handlers. Guarantees: :meth:`Engine.preflight` checks the stage
list, the control catalog, the waivers and the target (resolved, built, its tools present, its
environment reachable) before any stage runs, and raises one clear :class:`HarnessError` (exit 2)
otherwise; a crashing stage becomes an ``error`` stage summary and the run goes on; the verdict is
decided once (:func:`harness.verdict.decide`) into the record every reporter shows; reports are
written whatever happens; ``target.down()`` always runs, also on exceptions, SIGINT and SIGTERM
(:meth:`Engine.run` turns both signals into an orderly shutdown). The CLI calls :meth:`Engine.run`;
the pytest plugin drives :meth:`preflight`, :meth:`begin`, :meth:`run_stage` and :meth:`finish`.
"""

from __future__ import annotations

import functools
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from harness import provenance
from harness.catalog import Catalog, assess, catalog_for
from harness.errors import ConfigError, NotBuiltError
from harness.events import (
    Event,
    EventHandler,
    ResultRecorded,
    RunFinished,
    RunStarted,
    StageFinished,
    StageStarted,
    TargetReady,
    TargetStarting,
    TargetStopped,
)
from harness.output import ReportWriter
from harness.redact import Redactor, default_redactor
from harness.results import Result, RunRecord, StageSummary, Status
from harness.stages import load_stage
from harness.stages.base import StageContext
from harness.waivers import Waiver, govern, load_waivers, waiver_records, waivers_path

if TYPE_CHECKING:
    from harness.config import HarnessConfig
    from harness.stages.base import Stage
    from harness.targets.base import Environment, Target

TargetFactory = Callable[["HarnessConfig"], "Target"]
StageLoader = Callable[[str], "Stage"]


class RunInterrupted(BaseException):
    """SIGINT/SIGTERM arrived; unwinds the current stage like KeyboardInterrupt."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


def default_target_factory(config: HarnessConfig, *, evidence_dir: Path | None = None) -> Target:
    """The target ``config.target`` names; its process logs go to ``evidence_dir`` when given."""
    from harness.targets import get_target

    return get_target(config.target, config, evidence_dir=evidence_dir)


def check_target(spec: str) -> None:
    """A usage error when ``spec`` names no registered target (not built is fine: unused here)."""
    from harness.targets import parse_spec, resolve_factory

    try:
        resolve_factory(parse_spec(spec).name)
    except NotBuiltError:
        return


class Engine:
    """One run of the harness over ``config``."""

    def __init__(self, config: HarnessConfig, *, handlers: Sequence[EventHandler] = (),
                 target_factory: TargetFactory | None = None, stage_loader: StageLoader = load_stage,
                 redactor: Redactor | None = None, run_id: str | None = None,
                 report_writer: ReportWriter | None = None) -> None:
        self.config = config
        self.redactor = redactor or default_redactor()
        for pattern in config.redact_patterns:
            self.redactor.add_pattern(pattern)
        self.writer = report_writer or ReportWriter.for_config(config)
        self.handlers: list[EventHandler] = [self.writer, *handlers]
        self.stage_loader = stage_loader
        self.run_id = run_id or provenance.new_run_id()
        self.run_dir = config.paths.reports / self.run_id
        # Process logs land in the run's evidence, where they are redacted and bundled.
        self._default_target = target_factory is None
        self.target_factory = target_factory or functools.partial(
            default_target_factory, evidence_dir=self.run_dir / "evidence" / "target")
        self.stages: list[StageSummary] = []
        self.results: list[Result] = []
        self.handler_errors: list[str] = []
        self.record: RunRecord | None = None
        self._provenance = provenance.collect(root=config.root, target=config.target, profile=config.profile)
        self._target: Target | None = None
        self._environment: Environment | None = None
        self._target_failure: Exception | None = None
        self._started = self._finished = False
        self._preflown = False
        self._catalog: tuple[Catalog, list[Path]] | None = None
        self._waivers: list[Waiver] = []

    # -- driving -------------------------------------------------------------------------------
    def run(self) -> RunRecord:
        """Preflight, then run every configured stage; always tears down and writes reports.

        A preflight failure raises (nothing has run, nothing is written)."""
        self.preflight()
        with SignalGuard() as guard:
            try:
                self.begin()
                for name in self.config.stages:
                    self.run_stage(name)
            except (RunInterrupted, KeyboardInterrupt) as exc:
                self._interrupted(getattr(exc, "signal_name", "SIGINT"))
            finally:
                guard.defer()
                record = self.finish()
        return record

    @property
    def exit_code(self) -> int:
        """The record's exit code, or 2 when a handler (e.g. a reporter) broke."""
        code = self.record.exit_code if self.record else 2
        return 2 if self.handler_errors else code

    def preflight(self) -> None:
        """Check everything a run depends on before any stage runs; raise one clear HarnessError.

        The stage list must name at least one stage (unknown names are usage errors); the control
        catalog and the waivers must be valid; when a selected stage needs an environment, the
        target is resolved, built and asked to check itself (tools, environment file, reachability).
        """
        if self._preflown:
            return
        if not self.config.stages:
            raise ConfigError("--stages: no stage selected; a run that verifies nothing is not a run "
                              "(choose from policy, functional, dast, load)")
        needs_environment = False
        for name in self.config.stages:
            try:
                needs_environment |= bool(self.stage_loader(name).NEEDS_ENVIRONMENT)
            except NotBuiltError:
                continue  # recorded as a skipped stage (a gap) when it runs
        self._catalog = catalog_for(self.config.paths.policies)
        self._waivers = load_waivers(waivers_path(self.config.paths.policies, self._configured_waivers()))
        if needs_environment:
            self._preflight_target()
        elif self._default_target:
            check_target(self.config.target)
        self._preflown = True

    def _configured_waivers(self) -> Path | None:
        configured = (self.config.policy or {}).get("waivers")
        return self.config.root / str(configured) if configured else None

    def _preflight_target(self) -> None:
        if self._target is None:
            self._target = self.target_factory(self.config)  # raises NotBuiltError for kind/aws today
        check = getattr(self._target, "preflight", None)
        if callable(check):  # targets written before preflight existed are taken as they are
            check()

    def begin(self) -> None:
        if self._started:
            return
        self._started = True
        for handler in self.handlers:
            self._guard(handler.start)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "evidence").mkdir(exist_ok=True)
        self.emit(RunStarted(self.run_id, self.run_dir, tuple(self.config.stages), self._provenance))

    def run_stage(self, name: str) -> StageSummary:
        """Run one stage; whatever happens inside it ends up as results and one stage summary."""
        self.begin()
        index = len(self.stages) + 1
        self.emit(StageStarted(name, index, max(index, len(self.config.stages))))
        started = time.monotonic()
        results, summary = self._execute(name)
        summary.duration_s = time.monotonic() - started
        for result in results:
            self.results.append(result)
            self.emit(ResultRecorded(Result.from_dict(self.redactor.redact_data(result.to_dict()))))
        self.stages.append(summary)
        self.emit(StageFinished(StageSummary.from_dict(self.redactor.redact_data(summary.to_dict()))))
        return summary

    def finish(self) -> RunRecord:
        """Tear the target down, redact, emit RunFinished (reports), shut handlers down. Idempotent."""
        if self.record is not None:
            return self.record
        self.begin()
        self._stop_target()
        self._register_environment_secrets()
        self.redactor.redact_tree(self.run_dir / "evidence")
        self._provenance.finished_at = provenance.utc_now()
        self._provenance.tool_versions = provenance.tool_versions(self._used_tools())
        raw = self._record()
        self.record = RunRecord.from_dict(self.redactor.redact_data(raw.to_dict()))
        self.emit(RunFinished(self.record, self.run_dir))
        for handler in self.handlers:
            self._guard(handler.shutdown)
        self.handler_errors += [f"report {e}" for e in self.writer.errors]
        return self.record

    def _record(self) -> RunRecord:
        """The run's record: governed waivers enforced, controls assessed, the verdict decided."""
        today = provenance.run_date(self._provenance.started_at)
        results = govern(self.results, today)
        catalog, sources = self._catalog or (Catalog(), [])
        return RunRecord(self.run_id, self._provenance, list(self.stages), results,
                         controls=assess(catalog, results), frameworks=dict(catalog.frameworks),
                         catalog=", ".join(_shown(p, self.config.root) for p in sources) or None,
                         waivers=waiver_records(self._waivers, results, today))

    def _used_tools(self) -> list[str]:
        """The stages that ran (not those skipped before starting) and the target, if it stood up."""
        ran = [s.name for s in self.stages if not (s.status is Status.SKIPPED and not
                                                    any(r.stage == s.name for r in self.results))]
        return ran + ([f"target:{self._target.NAME}"] if self._environment is not None and self._target
                      is not None else [])

    def environment(self) -> Environment:
        """Stand the target up on first use; raises the target's error on every later call too."""
        if self._environment is not None:
            return self._environment
        if self._target_failure is not None:
            raise self._target_failure
        self.emit(TargetStarting(self.config.target))
        try:
            if self._target is None:
                self._target = self.target_factory(self.config)
            self._environment = self._target.up()
        except NotBuiltError as exc:
            self._target_failure = exc
            raise
        except Exception as exc:
            self._write_crash("target", exc)
            message = f"target {self.config.target!r} could not be stood up: {_describe(exc)}"
            self._target_failure = _TargetUnavailable(message)
            raise self._target_failure from exc
        self._register_environment_secrets()
        self.emit(TargetReady(self._environment))
        return self._environment

    def emit(self, event: Event) -> None:
        for handler in self.handlers:
            self._guard(handler.handle_event, event)

    # -- internals -----------------------------------------------------------------------------
    def _execute(self, name: str) -> tuple[list[Result], StageSummary]:
        try:
            stage = self.stage_loader(name)
            environment = self.environment() if stage.NEEDS_ENVIRONMENT else None
            ctx = StageContext(self.config, environment, self.run_dir, self.config.profile)
            results = list(stage.run(ctx))
        except NotBuiltError as exc:
            return [], StageSummary(name, Status.SKIPPED, str(exc))
        except _TargetUnavailable as exc:
            return [], StageSummary(name, Status.ERROR, f"not run: {exc}")
        except Exception as exc:
            self._write_crash(name, exc)
            return [], StageSummary(name, Status.ERROR, f"stage crashed: {_describe(exc)}")
        return results, summarize(name, results)

    def _interrupted(self, signal_name: str) -> None:
        done = {s.name for s in self.stages}
        current = next((n for n in self.config.stages if n not in done), None)
        if current is not None:
            self.stages.append(StageSummary(current, Status.ERROR, f"interrupted by {signal_name}"))
            done.add(current)
        for name in self.config.stages:
            if name not in done:
                self.stages.append(StageSummary(name, Status.SKIPPED, f"run interrupted by {signal_name}"))

    def _stop_target(self) -> None:
        if self._target is None:
            return
        error = None
        try:
            self._target.down()
        except Exception as exc:
            error = f"target {self.config.target!r} teardown failed: {_describe(exc)}"
            self.stages.append(StageSummary("teardown", Status.ERROR, error))
        self.emit(TargetStopped(self.config.target, error))

    def _register_environment_secrets(self) -> None:
        env = self._environment
        if env is not None:
            self.redactor.register(*(u.token for u in env.users), env.aws.secret_access_key)

    def _write_crash(self, name: str, exc: BaseException) -> None:
        """Keep the traceback as evidence (redacted with everything else at the end)."""
        with suppress(OSError):
            path = self.run_dir / "evidence" / name / "crash.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")

    def _guard(self, call: Callable[..., None], *args: object) -> None:
        try:
            call(*args)
        except Exception as exc:
            message = f"{type(call.__self__).__name__ if hasattr(call, '__self__') else call}: {exc}"
            self.handler_errors.append(message)
            print(f"harness: handler error: {message}", file=sys.stderr)


class SignalGuard:
    """While active, the first SIGINT/SIGTERM raises :class:`RunInterrupted` in the main thread;
    later ones (and any after :meth:`defer`) are only noted, so teardown and reports can finish.
    Outside the main thread it does nothing (signals are delivered to the main thread only)."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.deferred = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> SignalGuard:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        self.received.append(name)
        if not self.deferred:
            self.deferred = True
            raise RunInterrupted(name)
        print(f"harness: {name} received; finishing teardown and reports first", file=sys.stderr)

    def defer(self) -> None:
        self.deferred = True

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}


class _TargetUnavailable(Exception):
    """The target could not be stood up; env-needing stages report this as their error."""


def summarize(name: str, results: list[Result]) -> StageSummary:
    """A stage's status from its results: error > failed > passed (a check passed, waived or
    warned) > skipped. Tool summaries gate when they errored or failed, and are never a pass."""
    statuses = {r.status for r in results}
    checks = {r.status for r in results if r.is_evidence}
    counts = ", ".join(f"{sum(r.status is s and r.is_evidence for r in results)} {s.value}"
                       for s in Status if s in checks)
    summaries = sum(not r.is_evidence for r in results)
    if summaries:
        counts += f"{', ' if counts else ''}{summaries} tool summar{'y' if summaries == 1 else 'ies'}"
    for status in (Status.ERROR, Status.FAILED):
        if status in statuses:
            return StageSummary(name, status, counts)
    if checks & {Status.PASSED, Status.WAIVED, Status.WARNED}:
        return StageSummary(name, Status.PASSED, counts)
    if not checks:
        ran = "the stage ran no checks" + (f" ({counts})" if counts else "")
        return StageSummary(name, Status.SKIPPED, ran)
    return StageSummary(name, Status.SKIPPED, f"every check was skipped ({counts})")


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


__all__ = ["Engine", "RunInterrupted", "SignalGuard", "check_target", "default_target_factory", "summarize"]
