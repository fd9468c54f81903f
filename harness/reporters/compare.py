"""Compare two runs: new failures, fixed ones, other status changes and changed figures.

:func:`compare_runs` is pure (two :class:`RunRecord` in, a :class:`Comparison` out); the
renderers turn a comparison into Markdown (summary.md, PR comments) or an HTML fragment (index.html).
Results are matched on ``(id, location)``, since one check id can apply to many resources.
A result that disappears is reported as "no longer reported", never as fixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.reporters import write_atomic
from harness.reporters.templates import environment
from harness.results import Result, RunRecord, Status

Key = tuple[str, str]
_BAD = (Status.FAILED, Status.ERROR)


@dataclass(frozen=True, slots=True)
class StatusChange:
    id: str
    location: str
    title: str
    old: str | None  # None: not in the old run
    new: str | None  # None: not in the new run


@dataclass(frozen=True, slots=True)
class FigureChange:
    id: str
    location: str
    name: str
    old: float
    new: float

    @property
    def delta(self) -> float:
        return self.new - self.old

    @property
    def relative(self) -> float | None:
        return None if self.old == 0 else self.delta / abs(self.old)


@dataclass(slots=True)
class Comparison:
    old_run: str
    new_run: str
    old_exit_code: int
    new_exit_code: int
    old_counts: dict[str, int]
    new_counts: dict[str, int]
    old_verdict: str = ""
    new_verdict: str = ""
    new_failures: list[StatusChange] = field(default_factory=list)
    fixed: list[StatusChange] = field(default_factory=list)
    other_changes: list[StatusChange] = field(default_factory=list)
    gone: list[StatusChange] = field(default_factory=list)
    figures: list[FigureChange] = field(default_factory=list)

    @property
    def has_regression(self) -> bool:
        return bool(self.new_failures) or self.new_exit_code > self.old_exit_code

    @property
    def is_empty(self) -> bool:
        return not (self.new_failures or self.fixed or self.other_changes or self.gone or self.figures)


def compare_runs(old: RunRecord, new: RunRecord) -> Comparison:
    """What changed from ``old`` to ``new``."""
    old_by_key, new_by_key = _index(old.results), _index(new.results)
    comparison = Comparison(old.run_id, new.run_id, old.exit_code, new.exit_code, old.counts(), new.counts(),
                            old.verdict.status.value, new.verdict.status.value)
    for key in sorted(old_by_key.keys() | new_by_key.keys()):
        before, after = old_by_key.get(key), new_by_key.get(key)
        _classify(comparison, key, before, after)
        if before is not None and after is not None:
            comparison.figures.extend(_figure_changes(key, before, after))
    return comparison


def _classify(comparison: Comparison, key: Key, before: Result | None, after: Result | None) -> None:
    old_status = before.status if before else None
    new_status = after.status if after else None
    if old_status is new_status:
        return
    title = after.title if after else before.title if before else ""
    change = StatusChange(*key, title, old_status.value if old_status else None,
                          new_status.value if new_status else None)
    if new_status in _BAD:
        comparison.new_failures.append(change)
    elif old_status in _BAD and new_status is Status.PASSED:
        comparison.fixed.append(change)
    elif new_status is None:
        comparison.gone.append(change)
    else:
        comparison.other_changes.append(change)


def _figure_changes(key: Key, before: Result, after: Result) -> list[FigureChange]:
    changes = []
    for name in sorted(before.measured.keys() & after.measured.keys()):
        old_value, new_value = before.measured[name], after.measured[name]
        if _numeric(old_value) and _numeric(new_value) and old_value != new_value:
            changes.append(FigureChange(key[0], key[1], name, float(old_value), float(new_value)))
    return changes


def _numeric(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _index(results: list[Result]) -> dict[Key, Result]:
    """Results by (id, location); a repeated key keeps the worst status, so nothing bad hides."""
    rank = {Status.ERROR: 0, Status.FAILED: 1, Status.WARNED: 2, Status.WAIVED: 3, Status.SKIPPED: 4,
            Status.PASSED: 5}
    index: dict[Key, Result] = {}
    for result in results:
        key = (result.id, result.location or "")
        if key not in index or rank[result.status] < rank[index[key].status]:
            index[key] = result
    return index


COMPARISON_FILE = "comparison.md"
_BEGIN, _END = "<!-- harness:comparison:begin -->", "<!-- harness:comparison:end -->"


def write_comparison(run_dir: Path, comparison: Comparison) -> list[Path]:
    """Write ``comparison.md`` and put the same section into ``summary.md`` (replacing an earlier
    one, so re-running ``harness report --compare`` never stacks sections)."""
    text = render_markdown(comparison)
    written = [write_atomic(run_dir / COMPARISON_FILE, text)]
    summary = run_dir / "summary.md"
    if summary.is_file():
        current = summary.read_text(encoding="utf-8")
        if _BEGIN in current and _END in current:
            current = current.split(_BEGIN)[0].rstrip("\n") + current.split(_END, 1)[1]
        section = f"\n{_BEGIN}\n{text.rstrip()}\n{_END}\n"
        written.append(write_atomic(summary, current.rstrip("\n") + "\n" + section))
    return written


def render_markdown(comparison: Comparison) -> str:
    """The comparison as Markdown for summary.md and PR comments."""
    return environment().get_template("compare.md.j2").render(c=comparison, fmt=format_figure)


def render_html(comparison: Comparison) -> str:
    """The comparison as an HTML fragment (a heading and tables), autoescaped."""
    return environment().get_template("compare.html.j2").render(c=comparison, fmt=format_figure)


def format_figure(value: float) -> str:
    return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}".rstrip("0").rstrip(".")


__all__ = ["COMPARISON_FILE", "Comparison", "FigureChange", "StatusChange", "compare_runs", "format_figure",
           "render_html", "render_markdown", "write_comparison"]
