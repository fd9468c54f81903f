"""The engine: preflight -> target.up (only if a selected stage needs it) -> stages -> verdict ->
reports -> target.down.

It emits :mod:`harness.events` to handlers. Guarantees: :meth:`Engine.preflight` checks the stage
list, the control catalog, the waivers and the target (resolved, built, its tools present, its
environment reachable) before any stage runs, and raises one clear :class:`HarnessError` (exit 2)
otherwise; a crashing stage becomes an ``error`` stage summary and the run goes on; the verdict is
decided once (:func:`harness.verdict.decide`) into the record every reporter shows; reports are
written whatever happens; ``target.down()`` always runs, also on exceptions, SIGINT and SIGTERM.

:meth:`Engine.lifecycle` is the one lifecycle of a run, and every driver uses it: ``harness
verify`` (:meth:`Engine.run`), ``harness up`` (holds the environment until a signal) and the pytest
plugin (stage items and the ``harness_environment`` fixture). Results are recorded as a stage
yields them, so an interrupted run keeps the work that finished before the signal. One
:class:`Redactor` per run is handed to the target and to every stage.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from harness import events, provenance
from harness.catalog import Catalog, assess, catalog_for
from harness.errors import ConfigError, NotBuiltError, RunInterrupted, TargetUnavailable
from harness.events import Event, EventHandler
from harness.output import ReportWriter, tool_logs
from harness.redact import Redactor
from harness.results import Result, RunRecord, StageSummary, Status
from harness.stages import load_stage
from harness.stages.base import StageContext
from harness.targets.lifecycle import SignalGuard, note_stop_signal
from harness.verdict import summarize
from harness.waivers import Waiver, govern, load_waivers, waiver_records, waivers_path

if TYPE_CHECKING:
    from harness.config import HarnessConfig
    from harness.stages.base import Stage
    from harness.targets.base import Environment, Target

TargetFactory = Callable[["HarnessConfig"], "Target"]
StageLoader = Callable[[str], "Stage"]


def default_target_factory(config: HarnessConfig, *, evidence_dir: Path | None = None,
                           redactor: Redactor | None = None) -> Target:
    """The target ``config.target`` names; its process logs go to ``evidence_dir`` and the secrets
    it creates to ``redactor`` when given."""
    from harness.targets import get_target

    return get_target(config.target, config, evidence_dir=evidence_dir, redactor=redactor)


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
        self.redactor = redactor or Redactor()
        for pattern in config.redact_patterns:
            self.redactor.add_pattern(pattern)
        self.writer = report_writer or ReportWriter.for_config(config)
        self.handlers: list[EventHandler] = [self.writer, *handlers]
        self.stage_loader = stage_loader
        self.run_id = run_id or provenance.new_run_id()
        self.run_dir = config.paths.reports / self.run_id
        # The default target keeps its process logs in the run's evidence (redacted and bundled)
        # and registers the secrets it creates with the run's redactor.
        self._default_target = target_factory is None
        self.target_factory = target_factory or functools.partial(
            default_target_factory, evidence_dir=self.run_dir / "evidence" / "target", redactor=self.redactor)
        self.stages: list[StageSummary] = []
        self.results: list[Result] = []
        self.handler_errors: list[str] = []
        self.record: RunRecord | None = None
        self._provenance = provenance.collect(root=config.root, target=config.target, profile=config.profile)
        self._today = self._provenance.run_date()  # waivers expire against it
        self._target: Target | None = None
        self._environment: Environment | None = None
        self._target_failure: Exception | None = None
        self._started = False
        self._preflown = False
        self._catalog: tuple[Catalog, list[Path]] | None = None
        self._waivers: list[Waiver] = []
        self._stage_results: list[Result] = []  # what the running stage has yielded so far

    # -- driving -------------------------------------------------------------------------------
    def run(self) -> RunRecord:
        """Preflight, then run every configured stage; always tears down and writes reports.

        A preflight failure raises (nothing has run, nothing is written)."""
        with self.lifecycle():
            for name in self.config.stages:
                self.run_stage(name)
        assert self.record is not None
        return self.record

    @contextlib.contextmanager
    def lifecycle(self, *, environment: bool = False, owner: bool = True) -> Iterator[Engine]:
        """The run's one lifecycle: preflight, begin, the caller's work, then always teardown and
        reports (:meth:`finish`), also on exceptions and signals.

        ``environment``: stand the target up on entry whatever the stages (``harness up``).
        ``owner``: the run owns the process (the CLI): SIGINT/SIGTERM/SIGHUP raise
        :class:`RunInterrupted` (once; later ones wait for teardown) and tools' logs go to
        ``evidence/tools.log``, not the terminal. Under pytest (``owner=False``) pytest owns both, and
        hands a Ctrl-C in as the block's exception. An interrupt ends the block quietly: the stage
        it hit is recorded as interrupted with the results it had yielded, the rest as skipped.
        """
        self.preflight(environment=environment)
        with contextlib.ExitStack() as stack:
            guard = stack.enter_context(SignalGuard()) if owner else None
            try:
                self.begin()
                if owner:
                    stack.enter_context(tool_logs(self.run_dir / "evidence" / "tools.log"))
                if environment:
                    self.environment()
                yield self
            except KeyboardInterrupt as exc:
                if guard is None:  # pytest's Ctrl-C: no guard of ours counted it; targets must know
                    note_stop_signal()
                self._interrupted(exc.signal_name if isinstance(exc, RunInterrupted) else "SIGINT")
            finally:
                if guard is not None:
                    guard.defer()
                self.finish()

    @property
    def exit_code(self) -> int:
        """The record's exit code, or 2 when a handler (e.g. a reporter) broke."""
        code = self.record.exit_code if self.record else 2
        return 2 if self.handler_errors else code

    def preflight(self, *, environment: bool = False) -> None:
        """Check everything a run depends on before any stage runs; raise one clear HarnessError.

        The stage list must name at least one stage (unknown names are usage errors); the control
        catalog and the waivers must be valid; when a selected stage needs an environment (or
        ``environment``), the target is resolved, built and asked to check itself (tools,
        environment file, reachability).
        """
        if self._preflown:
            return
        if not self.config.stages:
            raise ConfigError("--stages: no stage selected; a run that verifies nothing is not a run "
                              "(choose from policy, functional, dast, load)")
        needs_environment = environment
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
        check = getattr(self._make_target(), "preflight", None)  # NotBuiltError for kind/aws today
        if callable(check):  # targets written before preflight existed are taken as they are
            check()

    def _make_target(self) -> Target:
        if self._target is None:
            self._target = self.target_factory(self.config)
        return self._target

    def begin(self) -> None:
        if self._started:
            return
        self._started = True
        for handler in self.handlers:
            self._guard(handler.start)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "evidence").mkdir(exist_ok=True)
        self.emit(events.RunStarted(self.run_id, self.run_dir, tuple(self.config.stages), self._provenance))

    def run_stage(self, name: str) -> StageSummary:
        """Run one stage; whatever happens inside it ends up as results and one stage summary.

        Each result is recorded as the stage yields it: an interrupt keeps those already yielded."""
        self.begin()
        index = len(self.stages) + 1
        self.emit(events.StageStarted(name, index, max(index, len(self.config.stages))))
        started = time.monotonic()
        self._stage_results = []
        summary = self._execute(name)
        summary.duration_s = time.monotonic() - started
        self._end_stage(summary)
        return summary

    def _record_result(self, result: Result) -> None:
        # Governed as it arrives, so the stage's summary, the live events and the record agree (an
        # ungoverned waiver counts as failed everywhere, not only in the final record).
        govern([result], self._today)
        self._stage_results.append(result)
        self.results.append(result)
        self.emit(events.ResultRecorded(Result.from_dict(self.redactor.redact_data(result.to_dict()))))

    def _end_stage(self, summary: StageSummary) -> None:
        self.stages.append(summary)
        self.emit(events.StageFinished(StageSummary.from_dict(self.redactor.redact_data(summary.to_dict()))))

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
        self.emit(events.RunFinished(self.record, self.run_dir))
        for handler in self.handlers:
            self._guard(handler.shutdown)
        self.handler_errors += [f"report {e}" for e in self.writer.errors]
        return self.record

    def _record(self) -> RunRecord:
        """The run's record (each result was governed as it arrived), controls assessed, the verdict
        decided."""
        results = list(self.results)
        catalog, sources = self._catalog or (Catalog(), [])
        return RunRecord(self.run_id, self._provenance, list(self.stages), results,
                         controls=assess(catalog, results), frameworks=dict(catalog.frameworks),
                         catalog=", ".join(_shown(p, self.config.root) for p in sources) or None,
                         waivers=waiver_records(self._waivers, results, self._today))

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
        self.emit(events.TargetStarting(self.config.target))
        try:
            self._environment = self._make_target().up()
        except NotBuiltError as exc:
            self._target_failure = exc
            raise
        except Exception as exc:
            self._write_crash("target", exc)
            message = f"target {self.config.target!r} could not be stood up: {_describe(exc)}"
            self._target_failure = TargetUnavailable(message)
            raise self._target_failure from exc
        self._register_environment_secrets()
        self.emit(events.TargetReady(self._environment))
        return self._environment

    def emit(self, event: Event) -> None:
        for handler in self.handlers:
            self._guard(handler.handle_event, event)

    # -- internals -----------------------------------------------------------------------------
    def _execute(self, name: str) -> StageSummary:
        try:
            stage = self.stage_loader(name)
            environment = self.environment() if stage.NEEDS_ENVIRONMENT else None
            ctx = StageContext(self.config, environment, self.run_dir, self.config.profile, self.redactor)
            for result in stage.run(ctx):
                self._record_result(result)
        except NotBuiltError as exc:
            return StageSummary(name, Status.SKIPPED, str(exc))
        except TargetUnavailable as exc:
            return StageSummary(name, Status.ERROR, f"not run: {exc}")
        except Exception as exc:
            self._write_crash(name, exc)
            crashed = f"stage crashed: {_describe(exc)}"
            return StageSummary(name, Status.ERROR, crashed + _kept(self._stage_results))
        return summarize(name, self._stage_results)

    def _interrupted(self, signal_name: str) -> None:
        done = {s.name for s in self.stages}
        current = next((n for n in self.config.stages if n not in done), None)
        if current is not None:
            self._end_stage(StageSummary(current, Status.ERROR,
                                         f"interrupted by {signal_name}" + _kept(self._stage_results)))
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
        self.emit(events.TargetStopped(self.config.target, error))

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


def _kept(results: list[Result]) -> str:
    """How many results a stage had yielded when it stopped early (kept in the record)."""
    return f" after {len(results)} result{'' if len(results) == 1 else 's'} (kept)" if results else ""


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


__all__ = ["Engine", "check_target", "default_target_factory"]
