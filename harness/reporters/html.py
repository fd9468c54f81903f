"""The reviewer's report: ``reports/<run-id>/index.html``, one self-contained file.

A thin view over the results model (``results.json`` / :class:`RunRecord`: results, the verdict, the
controls with their status and evidence, the waivers in force) and the evidence files the stages
wrote: the template shows the record; this module only groups results for it and draws the charts.
Rules the page keeps, which the tests check: the verdict is the record's (never decided here); counts
equal ``RunRecord.counts()``; every result, stage and control carries its own status
(``data-status``) and what proved it (``proven_on``), and nothing skipped or errored is rendered as
passed; a control without evidence says "not evidenced"; a section without data says "no data in
this run".
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from markupsafe import Markup

from harness.reporters import charts, write_atomic
from harness.reporters.compare import format_figure
from harness.reporters.templates import environment
from harness.results import (
    SEVERITIES,
    ControlRecord,
    ControlStatus,
    Outcome,
    Result,
    RunRecord,
    StageSummary,
    Status,
    load_record,
    problem_rank,
)

TIMELINE_PATH = "evidence/load/timeline.json"
APPENDIX_LIMIT = 300  # above this many results, passed rows of "All results" fold away
MESSAGE_LIMIT = 400  # longer messages show their start, the rest one click away
INLINE_LIMIT = 12  # more passed results than this fold away (still in the page, one click away)
STATUS_ORDER = ("failed", "error", "warned", "waived", "skipped", "passed")
VERDICT_CSS = {Outcome.PASSED: "passed", Outcome.PASSED_WITH_GAPS: "gaps", Outcome.FAILED: "failed",
               Outcome.ERROR: "error", Outcome.NOTHING_VERIFIED: "gaps"}
_PROBLEMS = (Status.FAILED, Status.ERROR)


@dataclass(slots=True)
class ResultView:
    index: int
    result: Result
    evidence: list[tuple[str, str | None]]  # (label, href or None when missing/unsafe)

    @property
    def anchor(self) -> str:
        return f"result-{self.index}"


@dataclass(slots=True)
class StageView:
    """A recorded stage summary with its results, charts and the notes that say why a chart is missing."""

    name: str
    status: str
    message: str
    duration_s: float
    results: list[ResultView]
    charts: list[charts.Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    findings: dict[str, dict[str, int]] | None = None  # DAST: severity -> status -> count

    @property
    def counts(self) -> Counter[str]:
        return Counter(v.result.status.value for v in self.results if v.result.is_evidence)

    @property
    def figures(self) -> list[tuple[ResultView, list[tuple[str, str]]]]:
        return [(v, [(k, _figure(val)) for k, val in v.result.measured.items()])
                for v in self.results if v.result.measured]

    @property
    def attention(self) -> list[ResultView]:
        return [v for v in self.results if v.result.status is not Status.PASSED and v.result.is_evidence]

    @property
    def passed(self) -> list[ResultView]:
        return [v for v in self.results if v.result.status is Status.PASSED and v.result.is_evidence]

    @property
    def summaries(self) -> list[ResultView]:
        return [v for v in self.results if not v.result.is_evidence]


class HtmlReporter:
    """The ``html`` reporter slot.

    ``HtmlReporter().write(record, run_dir)`` writes ``run_dir/index.html`` and returns its path.
    """

    NAME = "html"

    def __init__(self, *, baseline: RunRecord | None = None) -> None:
        self.baseline = baseline

    def write(self, record: RunRecord, run_dir: Path) -> Path:
        return write_atomic(run_dir / "index.html", render_html(record, run_dir, baseline=self.baseline))


def write_html(run_dir: Path, *, baseline: RunRecord | None = None) -> Path:
    """Render ``run_dir/index.html`` from ``run_dir/results.json``; returns its path."""
    return HtmlReporter(baseline=baseline).write(load_record(run_dir / "results.json"), run_dir)


def render_html(record: RunRecord, run_dir: Path, *, baseline: RunRecord | None = None) -> str:
    """The whole page as a string (pure apart from reading evidence files)."""
    context = build_context(record, run_dir, baseline=baseline)
    return environment().get_template("report.html.j2").render(**context)


def build_context(record: RunRecord, run_dir: Path, *, baseline: RunRecord | None = None) -> dict[str, Any]:
    views = [ResultView(i, r, _evidence_links(r, run_dir)) for i, r in enumerate(record.results)]
    stages = [_stage_view(summary, views, run_dir) for summary in record.stage_summaries()]
    by_status = {s: [v for v in views if v.result.status is s and v.result.is_evidence] for s in Status}
    bad = [v for v in views if v.result.status in _PROBLEMS]
    problems = sorted(bad, key=lambda v: problem_rank(v.result))
    mapped = {i for c in record.controls for i in c.evidence}
    verdict = record.verdict
    reasons = list(verdict.reasons) + [f"gap: {g.message}" for g in verdict.gaps]
    comparison = None
    if baseline is not None:
        from harness.reporters import compare

        diff = compare.compare_runs(baseline, record)
        comparison = Markup(compare.render_html(diff))
        reasons.append(f"compared with run {baseline.run_id}: {len(diff.new_failures)} new failure(s), "
                       f"{len(diff.fixed)} fixed, {len(diff.figures)} changed figure(s)")
    results_json = run_dir / "results.json"
    return {
        "record": record,
        "prov": record.provenance,
        "counts": record.counts(),
        "total": len(record.results),
        "status_order": STATUS_ORDER,
        "severities": SEVERITIES,
        "verdict": {"label": verdict.status.value, "css": VERDICT_CSS[verdict.status],
                    "exit_code": verdict.exit_code, "reasons": reasons},
        "integrity": _integrity(record, results_json),
        "results": views,
        "stages": stages,
        "control_views": [_control_view(c, views) for c in record.controls],
        "evidence_counts": {c.id: Counter(views[i].result.status.value for i in c.evidence)
                            for c in record.controls},
        "inline_limit": INLINE_LIMIT,
        "message_limit": MESSAGE_LIMIT,
        "appendix_limit": APPENDIX_LIMIT,
        "control_counts": _control_counts(record.controls),
        "frameworks": _frameworks(record.controls, record.frameworks),
        "unknown_controls": sorted({c for r in record.results for c in r.controls} - set(_known(record))),
        "known_controls": _known(record),
        "unmapped_problems": [v for v in bad if v.index not in mapped],
        "waived_results": by_status[Status.WAIVED],
        "warned_results": by_status[Status.WARNED],
        "skipped": by_status[Status.SKIPPED],
        "summaries": [v for v in views if not v.result.is_evidence],
        "problems": problems,
        "problem_groups": _problem_groups(problems),
        "skipped_stages": [s for s in stages if s.status == "skipped"],
        "comparison": comparison,
        "results_sha256": _sha256(results_json),
        "stylesheet": Markup(environment().get_template("report.css").render()),
    }


def _known(record: RunRecord) -> set[str]:
    return {c.id for c in record.controls}


def _integrity(record: RunRecord, path: Path) -> list[str]:
    """Disagreements between the record rendered and the results.json beside the page."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [f"{path.name} is missing or unreadable next to this report; it cannot be cross-checked"]
    expected = {"run_id": record.run_id, "counts": record.counts(), "exit_code": record.exit_code,
                "verdict": record.verdict.status.value, "results": len(record.results)}
    found = {**{k: stored.get(k) for k in ("run_id", "counts", "exit_code")},
             "verdict": (stored.get("verdict") or {}).get("status", record.verdict.status.value),
             "results": len(stored.get("results") or [])}
    return [f"{path.name} says {key} = {found[key]!r} but this report shows {value!r}"
            for key, value in expected.items() if found[key] != value]


def _problem_groups(problems: list[ResultView]) -> list[dict[str, Any]]:
    """Failed/errored results grouped by check (status, id, remediation), in problem order."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for view in problems:
        result = view.result
        key = (result.status.value, result.id, result.remediation or "")
        group = groups.setdefault(key, {"result": result, "controls": [], "occurrences": []})
        group["occurrences"].append(view)
        group["controls"] += [c for c in result.controls if c not in group["controls"]]
    return list(groups.values())


def _control_view(control: ControlRecord, views: list[ResultView]) -> dict[str, Any]:
    """A control with the results that evidence it: those needing attention, and those that passed."""
    evidence = [views[i] for i in control.evidence]
    return {"control": control,
            "attention": [v for v in evidence if v.result.status is not Status.PASSED],
            "passed": [v for v in evidence if v.result.status is Status.PASSED]}


def _stage_view(summary: StageSummary, views: list[ResultView], run_dir: Path) -> StageView:
    stage = StageView(summary.name, summary.status.value, summary.message, summary.duration_s,
                      [v for v in views if v.result.stage == summary.name])
    if stage.name == "load":
        _load_charts(stage, run_dir)
    elif stage.name == "dast":
        findings = stage.findings = _findings_by_severity(stage.results)
        empty = "no findings (failed, errored or waived) in this run" if stage.results else None
        _draw(stage, "DAST findings by severity", lambda: charts.severity_chart(findings), empty=empty)
    return stage


def _load_charts(stage: StageView, run_dir: Path) -> None:
    timeline = _read_timeline(run_dir / TIMELINE_PATH)
    if isinstance(timeline, str):
        stage.notes.append(timeline)
        return
    samples, analysis = _records(timeline.get("samples")), _records(timeline.get("analysis"))
    thresholds = timeline.get("thresholds")
    thresholds = thresholds if isinstance(thresholds, dict) else {}
    _draw(stage, "Latency percentiles over time", lambda: charts.latency_chart(samples, thresholds))
    _draw(stage, "Replicas against load", lambda: charts.replicas_chart(samples))
    _draw(stage, "Canary weight and analysis", lambda: charts.canary_chart(samples, analysis))
    undrawn = _undrawn_measurements(analysis)
    if undrawn:
        stage.notes.append(undrawn)


def _draw(stage: StageView, title: str, draw: Callable[[], charts.Chart | None], *,
          empty: str | None = None) -> None:
    """Add a chart, or say why there is none; a chart that cannot be drawn never sinks the report."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # layout hints must not fail a run under -W error
            chart = draw()
    except Exception as exc:  # the page must still be written; say what broke instead
        stage.notes.append(f"{title}: could not be drawn ({type(exc).__name__}: {exc}).")
        return
    if chart is None:
        stage.notes.append(f"{title}: {empty or 'no data in this run'}.")
    else:
        stage.charts.append(chart)


def _records(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _undrawn_measurements(analysis: list[dict[str, Any]]) -> str | None:
    """Analysis measurements without a numeric value are not drawn; say how many and why."""
    missing = [a for a in analysis if charts.number(a.get("value")) is None]
    if not missing:
        return None
    phases = Counter(str(a.get("phase") or "unknown") for a in missing)
    reasons = sorted({str(a["message"]) for a in missing if a.get("message")})[:3]
    by_phase = ", ".join(f"{n} {phase}" for phase, n in sorted(phases.items()))
    reported = f"; reported: {'; '.join(reasons)}" if reasons else ""
    return (f"Canary analysis: {len(missing)} measurement(s) had no numeric value and are not drawn "
            f"({by_phase}){reported}.")


def _read_timeline(path: Path) -> dict[str, Any] | str:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"Load timeline ({TIMELINE_PATH}): no data in this run."
    except (OSError, ValueError) as exc:
        return f"Load timeline ({TIMELINE_PATH}) could not be read: {exc}"
    if not isinstance(data, dict):
        return f"Load timeline ({TIMELINE_PATH}) is not a JSON object; no charts drawn."
    return data


def _findings_by_severity(views: list[ResultView]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for view in views:
        status = view.result.status.value
        if status in ("failed", "error", "warned", "waived"):
            by_status = counts.setdefault(view.result.severity.value, {})
            by_status[status] = by_status.get(status, 0) + 1
    return counts


def _frameworks(controls: list[ControlRecord], names: dict[str, str]) -> list[dict[str, Any]]:
    """One table per framework (catalog order), one row per control with its references."""
    by_key: dict[str, list[tuple[list[str], ControlRecord]]] = {}
    for control in controls:
        for key, refs in control.frameworks.items():
            by_key.setdefault(key, []).append((sorted(refs, key=_natural), control))
    order = [k for k in names if k in by_key] + sorted(k for k in by_key if k not in names)
    return [
        {
            "key": key,
            "name": names.get(key, key),
            "rows": sorted(by_key[key], key=lambda r: (_natural(r[0][0]) if r[0] else [], r[1].id)),
            "counts": _control_counts([c for _, c in by_key[key]]),
        }
        for key in order
    ]


def _natural(text: str) -> list[tuple[int, str]]:
    """Sort key so that ``V4.2.1`` comes before ``V13.2.1`` and ``AC-3`` before ``AC-12``."""
    return [(int(part), "") if part.isdigit() else (0, part) for part in re.split(r"(\d+)", text)]


def _control_counts(controls: list[ControlRecord]) -> dict[str, int]:
    """Controls by status, every status listed (a control counts once, however many references)."""
    counts = {s.value: 0 for s in ControlStatus}
    for control in {id(c): c for c in controls}.values():
        counts[control.status.value] += 1
    return counts


def _evidence_links(result: Result, run_dir: Path) -> list[tuple[str, str | None]]:
    links: list[tuple[str, str | None]] = []
    for item in result.evidence:
        path = PurePosixPath(item)
        safe = not path.is_absolute() and ".." not in path.parts
        links.append((item, item if safe and (run_dir / item).exists() else None))
    return links


def _figure(value: float | int | str) -> str:
    # ints verbatim: ids, seeds and byte counts must read exactly
    return format_figure(value) if isinstance(value, float) else str(value)


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


__all__ = ["TIMELINE_PATH", "HtmlReporter", "build_context", "render_html", "write_html"]
