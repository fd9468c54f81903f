"""Event handlers that produce output: the report writer, plain CI lines and rich terminal progress;
and :func:`tool_logs`, which keeps the tools' own logs off the terminal."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from harness import events
from harness.events import BaseHandler, Event
from harness.reporters import (
    FINAL_REPORTERS,
    Reporter,
    load_reporters,
    update_latest,
    written_paths,
)
from harness.results import Outcome, Result, RunRecord, Status

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status as Spinner

    from harness.config import HarnessConfig
    from harness.reporters.compare import Comparison

STYLES = {Status.PASSED: "green", Status.FAILED: "red", Status.ERROR: "magenta", Status.SKIPPED: "yellow",
          Status.WAIVED: "cyan", Status.WARNED: "yellow"}
PROBLEMS = (Status.FAILED, Status.ERROR)  # the results a CI log shows one by one
VERDICT_STYLES = {Outcome.PASSED: "bold green", Outcome.PASSED_WITH_GAPS: "bold yellow",
                  Outcome.FAILED: "bold red", Outcome.ERROR: "bold magenta",
                  Outcome.NOTHING_VERIFIED: "bold magenta"}


class ReportWriter(BaseHandler):
    """Writes every report when the run finishes and points ``reports/latest`` at it.

    A reporter that fails is recorded in :attr:`errors` (the run then exits 2); the others still write.
    With a ``baseline`` run, the comparison (``comparison.md`` and a section in ``summary.md``) is
    written after the other reports and before the bundle, and kept in :attr:`comparison`.
    """

    def __init__(self, reporters: Sequence[Reporter], *, errors: Sequence[str] = (),
                 latest: bool = True, baseline: RunRecord | None = None) -> None:
        self.reporters = list(reporters)
        self.errors = list(errors)
        self.written: list[Path] = []
        self.latest = latest
        self.baseline = baseline
        self.comparison: Comparison | None = None

    @classmethod
    def for_config(cls, config: HarnessConfig, names: Sequence[str] | None = None, *,
                   baseline: RunRecord | None = None) -> ReportWriter:
        """The registered reporters (or those named; bundle always last) and, when given, the
        baseline run for the comparison section. Reporters read only the run record."""
        errors: list[str] = []
        options = {} if baseline is None else {"baseline": baseline}
        return cls(load_reporters(names, errors, **options), errors=errors, baseline=baseline)

    def handle_event(self, event: Event) -> None:
        if isinstance(event, events.RunFinished):
            self.write(event.record, event.run_dir)

    def write(self, record: RunRecord, run_dir: Path) -> list[Path]:
        run_dir.mkdir(parents=True, exist_ok=True)
        final = [r for r in self.reporters if r.NAME in FINAL_REPORTERS]
        for reporter in [r for r in self.reporters if r.NAME not in FINAL_REPORTERS]:
            self._write_one(reporter, record, run_dir)
        if self.baseline is not None:
            self._compare(self.baseline, record, run_dir)
        for reporter in final:
            self._write_one(reporter, record, run_dir)
        if self.latest:
            try:
                update_latest(run_dir.parent, run_dir.name)
            except OSError as exc:
                self.errors.append(f"latest: {exc}")
        return self.written

    def _write_one(self, reporter: Reporter, record: RunRecord, run_dir: Path) -> None:
        try:
            self.written += written_paths(reporter.write(record, run_dir))
        except Exception as exc:
            self.errors.append(f"{reporter.NAME}: {type(exc).__name__}: {exc}")

    def _compare(self, baseline: RunRecord, record: RunRecord, run_dir: Path) -> None:
        try:
            from harness.reporters.compare import compare_runs, write_comparison

            self.comparison = compare_runs(baseline, record)
            self.written += write_comparison(run_dir, self.comparison)
        except Exception as exc:
            self.errors.append(f"compare: {type(exc).__name__}: {exc}")


def is_ci(stream: TextIO) -> bool:
    """Plain output when not on a terminal or when CI=true."""
    ci = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
    return ci or not (hasattr(stream, "isatty") and stream.isatty())


def _outcome(record: RunRecord) -> str:
    """The record's verdict (decided by the engine; shown, never re-decided here) and its counts."""
    counts = record.counts()
    shown = ", ".join(f"{n} {status}" for status, n in counts.items() if n and status != "summaries")
    if counts["summaries"]:
        shown += f"{', ' if shown else ''}{counts['summaries']} tool summaries (not evidence)"
    return f"{record.verdict.status.value} (exit {record.exit_code}): {shown or 'no results'}"


def result_line(result: Result) -> str:
    """``FAILED CKV_AWS_18 terraform/s3.tf:12: <message>``: the location once, even when the
    message starts with it or with the resource it names."""
    where = f" {result.location}" if result.location else ""
    message = result.message or result.title
    for prefix in filter(None, (result.location, (result.location or "").rsplit(":", 1)[0])):
        message = message.removeprefix(f"{prefix}: ").removeprefix(prefix)
    return f"{result.status.value.upper()} {result.id}{where}: {message.strip() or result.title}"


def _report_hint(run_dir: Path) -> str:
    summary = run_dir / "summary.md"
    try:
        return str(summary.relative_to(Path.cwd()))
    except ValueError:
        return str(summary)


class PlainProgress(BaseHandler):
    """One line per event, for CI logs."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def handle_event(self, event: Event) -> None:
        if isinstance(event, events.RunStarted):
            p = event.provenance
            self.line(f"harness: run {event.run_id} target={p.target} profile={p.profile} "
                      f"stages={','.join(event.stages)}")
        elif isinstance(event, events.TargetStarting):
            self.line(f"harness: standing up target {event.spec} ...")
        elif isinstance(event, events.TargetReady):
            self.line(f"harness: target ready: api {event.environment.api_url}")
        elif isinstance(event, events.StageStarted):
            self.line(f"harness: [{event.index}/{event.total}] {event.name} ...")
        elif isinstance(event, events.ResultRecorded) and event.result.status in PROBLEMS:
            self.line(f"  {result_line(event.result)}")
        elif isinstance(event, events.StageFinished):
            s = event.summary
            self.line(f"harness: {s.name} {s.status.value} in {s.duration_s:.1f}s"
                      + (f" ({s.message})" if s.message else ""))
        elif isinstance(event, events.TargetStopped):
            self.line(f"harness: target {event.spec} down" + (f" ({event.error})" if event.error else ""))
        elif isinstance(event, events.RunFinished):
            record = event.record
            self.line(f"harness: {_outcome(record)}; report: {_report_hint(event.run_dir)}")
            for gap in record.verdict.gaps:
                self.line(f"  gap: {gap.message}")


class RichProgress(PlainProgress):
    """Live terminal progress: a spinner per stage, coloured outcomes."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.console import Console

        super().__init__()
        self.console = console or Console()
        self.spinner: Spinner | None = None

    def line(self, text: str, style: str | None = None) -> None:
        self.console.print(text, style=style, highlight=False, markup=False)

    def handle_event(self, event: Event) -> None:
        if isinstance(event, events.StageStarted | events.TargetStarting):
            self._stop_spinner()
            label = (f"[{event.index}/{event.total}] {event.name}" if isinstance(event, events.StageStarted)
                     else f"standing up target {event.spec}")
            self.spinner = self.console.status(label)
            self.spinner.start()
        elif isinstance(event, events.StageFinished):
            self._stop_spinner()
            s = event.summary
            self.line(f"{s.status.value:>8}  {s.name} ({s.duration_s:.1f}s)" + (f"  {s.message}" if s.message
                      else ""), STYLES[s.status])
        elif isinstance(event, events.RunFinished):
            self._stop_spinner()
            record = event.record
            self.line(_outcome(record), VERDICT_STYLES[record.verdict.status])
            for gap in record.verdict.gaps:
                self.line(f"  gap: {gap.message}", "yellow")
            self.line(f"report: {_report_hint(event.run_dir)}")
        else:
            if isinstance(event, events.TargetReady):
                self._stop_spinner()
            super().handle_event(event)

    def _stop_spinner(self) -> None:
        if self.spinner is not None:
            self.spinner.stop()
            self.spinner = None

    def shutdown(self) -> None:
        self._stop_spinner()


@contextlib.contextmanager
def tool_logs(path: Path) -> Iterator[None]:
    """While a run is active, Python logging (checkov's logger, boto, urllib3...) goes to ``path``
    (the run's evidence, redacted with the rest), never to the terminal; afterwards the logging
    setup is as it was.

    Installing our handler first also makes ``logging.basicConfig`` in a tool imported meanwhile
    (checkov's ``logging_init``) a no-op, so it adds no stderr handler. colorama, initialised by
    checkov's import with ``autoreset``, wraps stdout and resets the terminal at exit: the stray
    ``ESC[0m`` lines after our last line: both are undone when the run ends.
    """
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        handler.close()
        _undo_colorama()


def _undo_colorama() -> None:
    """Remove colorama's exit-time reset, and its stream wraps where they are still in place (a
    stream someone replaced since, e.g. pytest's capture, is left alone)."""
    colorama = sys.modules.get("colorama.initialise")
    if colorama is None:
        return
    atexit.unregister(colorama.reset_all)
    for name in ("stdout", "stderr"):
        wrapped = getattr(colorama, f"wrapped_{name}", None)
        if wrapped is not None and getattr(sys, name) is wrapped:
            setattr(sys, name, getattr(colorama, f"orig_{name}"))


def progress_handler(stream: TextIO | None = None, **kwargs: Any) -> PlainProgress:
    """Rich progress on a terminal, plain lines in CI or when piped."""
    stream = stream or sys.stdout
    return PlainProgress(stream) if is_ci(stream) else RichProgress(**kwargs)


__all__ = ["PlainProgress", "ReportWriter", "RichProgress", "is_ci", "progress_handler", "result_line",
           "tool_logs"]
