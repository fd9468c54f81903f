"""Reporters turn a :class:`~harness.results.RunRecord` into files in the run directory.

They import only ``harness.results`` (and the stdlib). The registry maps a format name to
``"module:attribute"``; the attribute is a Reporter class (instantiated without arguments) or a
module-level ``write(record, run_dir) -> list[Path]`` function. A registered module that does not
exist yet (e.g. ``html`` before it lands) is skipped without error. Formats in
:data:`FINAL_REPORTERS` (the evidence bundle) run after all others, whatever order they are named in.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.errors import NotBuiltError
from harness.registry import lazy_import, unknown_name
from harness.results import RunRecord

REPORTERS: dict[str, str] = {
    "json": "harness.reporters.json_report:JsonReporter",
    "junit": "harness.reporters.junit:JunitReporter",
    "sarif": "harness.reporters.sarif:SarifReporter",
    "markdown": "harness.reporters.markdown:MarkdownReporter",
    "html": "harness.reporters.html:HtmlReporter",
    "oscal": "harness.reporters.oscal:OscalReporter",
    "bundle": "harness.reporters.bundle:BundleReporter",  # last: the bundle holds the other reports
}
# Formats that pack up what the others wrote: always written after every other report.
FINAL_REPORTERS: frozenset[str] = frozenset({"bundle"})


@runtime_checkable
class Reporter(Protocol):
    """Writes one report format for a finished run; returns the file(s) it wrote."""

    NAME: str

    def write(self, record: RunRecord, run_dir: Path) -> list[Path] | Path: ...


@dataclass(slots=True)
class FunctionReporter:
    """Adapts a module-level ``write(record, run_dir)`` function to the Reporter protocol."""

    NAME: str
    function: Callable[[RunRecord, Path], list[Path]]

    def write(self, record: RunRecord, run_dir: Path) -> list[Path]:
        return list(self.function(record, run_dir))


def load_reporter(name: str, **options: Any) -> Reporter | None:
    """The reporter registered as ``name``, or None when its module is not built yet.

    ``options`` (e.g. ``baseline``, the run to compare with) go to the reporter's constructor when
    it accepts them by name; others are ignored.
    """
    try:
        module, factory = lazy_import(REPORTERS[name], f"reporter {name!r}")
    except NotBuiltError:
        return None
    if isinstance(factory, type):
        reporter: Reporter = factory(**_accepted(factory, options))
        return reporter
    function = getattr(module, "write", None)
    return FunctionReporter(name, function) if callable(function) else None


def _accepted(factory: type, options: dict[str, Any]) -> dict[str, Any]:
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return {}
    return {key: value for key, value in options.items() if key in parameters}


def load_reporters(names: Iterable[str] | None = None, errors: list[str] | None = None,
                   **options: Any) -> list[Reporter]:
    """Every registered reporter that exists (or those named), in registry order, bundle last.

    An unknown name is a ConfigError. A reporter whose module fails to import is added to ``errors``
    (the run then exits 2 and the others still write), or raised when no list is given.
    """
    wanted = report_order(REPORTERS if names is None else names)
    unknown = [n for n in wanted if n not in REPORTERS]
    if unknown:
        raise unknown_name("--format", "report format", unknown[0], REPORTERS)
    reporters = []
    for name in wanted:
        try:
            reporter = load_reporter(name, **options)
        except Exception as exc:
            if errors is None:
                raise
            errors.append(f"{name}: cannot load: {type(exc).__name__}: {exc}")
            continue
        if reporter is not None:
            reporters.append(reporter)
    return reporters


def write_atomic(path: Path, text: str) -> Path:
    """Write via a temporary file so a crash never leaves half a report behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    return path


def written_paths(written: list[Path] | Path | None) -> list[Path]:
    """A reporter's return value as a list of paths."""
    if written is None:
        return []
    return [written] if isinstance(written, Path) else list(written)


def update_latest(reports_dir: Path, run_id: str) -> Path:
    """Point ``reports/latest`` at the run: a relative symlink, or a pointer file where symlinks fail."""
    latest = reports_dir / "latest"
    partial = reports_dir / f".latest-{os.getpid()}"
    try:
        partial.unlink(missing_ok=True)
        partial.symlink_to(run_id, target_is_directory=True)
    except OSError:
        partial.write_text(run_id + "\n", encoding="utf-8")
    if latest.is_dir() and not latest.is_symlink():
        partial.unlink()
        raise OSError(f"{latest} is a directory; not replacing it")
    partial.replace(latest)
    return latest


def report_order(names: Iterable[str]) -> list[str]:
    """``names`` in the order to write them: as given, but :data:`FINAL_REPORTERS` last."""
    ordered = list(dict.fromkeys(names))
    return [n for n in ordered if n not in FINAL_REPORTERS] + [n for n in ordered if n in FINAL_REPORTERS]


__all__ = [
    "FINAL_REPORTERS",
    "REPORTERS",
    "FunctionReporter",
    "Reporter",
    "load_reporter",
    "load_reporters",
    "report_order",
    "update_latest",
    "write_atomic",
    "written_paths",
]
