"""The reviewer's report: ``reports/<run-id>/index.html``, one self-contained file.

Reads only the results model (``results.json`` / :class:`RunRecord`: results, the verdict, the
controls with their evidence, the waivers in force) and the evidence files the stages wrote. Rules
the page keeps, which the tests check: the verdict is the record's (never decided here); counts
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
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from markupsafe import Markup

from harness.reporters import charts, write_atomic
from harness.reporters.templates import environment
from harness.results import (
    ControlRecord,
    ControlStatus,
    Outcome,
    Result,
    RunRecord,
    Status,
    WaiverRecord,
    load_record,
)

TIMELINE_PATH = "evidence/load/timeline.json"
APPENDIX_LIMIT = 300  # above this many results, passed rows of "All results" fold away
MESSAGE_LIMIT = 400  # longer messages show their start, the rest one click away
INLINE_LIMIT = 12  # more passed results than this fold away (still in the page, one click away)
STATUS_ORDER = ("failed", "error", "warned", "waived", "skipped", "passed")
VERDICT_CSS = {Outcome.PASSED: "passed", Outcome.PASSED_WITH_GAPS: "gaps", Outcome.FAILED: "failed",
               Outcome.ERROR: "error", Outcome.NOTHING_VERIFIED: "gaps"}


@dataclass(slots=True)
class CatalogView:
    """The controls part of the record, as the page shows it."""

    available: bool
    source: str
    frameworks: dict[str, str]
    problem: str = ""


@dataclass(slots=True)
class ControlView:
    control: ControlRecord
    status: ControlStatus
    evidence: list[int]
    counts: dict[str, int]


@dataclass(slots=True)
class WaiversView:
    available: bool
    waivers: list[WaiverRecord]
    source: str = "the run record"
    problem: str = ""


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
    name: str
    status: str
    message: str
    duration_s: float
    counts: dict[str, int]
    results: list[ResultView]
    charts: list[charts.Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    figures: list[tuple[ResultView, list[tuple[str, str]]]] = field(default_factory=list)
    findings: dict[str, dict[str, int]] | None = None  # DAST: severity -> status -> count

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
    as_of = _run_date(record)
    controls = CatalogView(bool(record.controls), record.catalog or "the built-in catalog", record.frameworks,
                           "" if record.controls else "this run's record carries no controls")
    waivers = WaiversView(True, record.waivers)
    assessments = [_control_view(c, record.results) for c in record.controls]
    stages = _stage_views(record, views, run_dir)
    comparison, verdict = None, _verdict(record)
    if baseline is not None:
        from harness.reporters import compare

        diff = compare.compare_runs(baseline, record)
        comparison = Markup(compare.render_html(diff))
        verdict["reasons"].append(
            f"compared with run {baseline.run_id}: {len(diff.new_failures)} new failure(s), "
            f"{len(diff.fixed)} fixed, {len(diff.figures)} changed figure(s)"
        )
    return {
        "record": record,
        "prov": record.provenance,
        "counts": record.counts(),
        "total": len(record.results),
        "status_order": STATUS_ORDER,
        "severities": charts.SEVERITIES,
        "verdict": verdict,
        "integrity": _integrity(record, run_dir / "results.json"),
        "results": views,
        "stages": stages,
        "controls": controls,
        "assessments": assessments,
        "control_views": [
            (
                a,
                [views[i] for i in a.evidence if views[i].result.status is not Status.PASSED],
                [views[i] for i in a.evidence if views[i].result.status is Status.PASSED],
            )
            for a in assessments
        ],
        "inline_limit": INLINE_LIMIT,
        "message_limit": MESSAGE_LIMIT,
        "appendix_limit": APPENDIX_LIMIT,
        "control_counts": _control_counts(assessments),
        "frameworks": _frameworks(assessments, controls.frameworks),
        "unknown_controls": _unknown_controls(record.results, record.controls),
        "known_controls": {c.id for c in record.controls},
        "unmapped_problems": _unmapped_problems(views, assessments) if controls.available else [],
        "waivers": waivers,
        "as_of": as_of,
        "waiver_rows": [{"waiver": w, "state": w.state, "left": w.days_left, "used": w.used}
                        for w in record.waivers],
        "waived_results": [v for v in views if v.result.status is Status.WAIVED],
        "warned_results": [v for v in views if v.result.status is Status.WARNED and v.result.is_evidence],
        "summaries": [v for v in views if not v.result.is_evidence],
        "problems": sorted(
            (v for v in views if v.result.status in (Status.FAILED, Status.ERROR)), key=_problem_order
        ),
        "problem_groups": _problem_groups(views),
        "skipped": [v for v in views if v.result.status is Status.SKIPPED and v.result.is_evidence],
        "skipped_stages": [s for s in stages if s.status == "skipped"],
        "comparison": comparison,
        "results_sha256": _sha256(run_dir / "results.json"),
        "stylesheet": Markup(environment().get_template("report.css").render()),
    }


def _integrity(record: RunRecord, path: Path) -> list[str]:
    """Disagreements between the record rendered and the results.json beside the page."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [f"{path.name} is missing or unreadable next to this report; it cannot be cross-checked"]
    expected = {
        "run_id": record.run_id,
        "counts": record.counts(),
        "exit_code": record.exit_code,
        "verdict": record.verdict.status.value,
        "results": len(record.results),
    }
    found = {
        **{k: stored.get(k) for k in ("run_id", "counts", "exit_code")},
        "verdict": (stored.get("verdict") or {}).get("status", record.verdict.status.value),
        "results": len(stored.get("results") or []),
    }
    return [
        f"{path.name} says {key} = {found[key]!r} but this report shows {value!r}"
        for key, value in expected.items()
        if found[key] != value
    ]


def _problem_groups(views: list[ResultView]) -> list[dict[str, Any]]:
    """Failed/errored results grouped by check (status, id, remediation), in problem order."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    problems = [v for v in views if v.result.status in (Status.FAILED, Status.ERROR)]
    for view in sorted(problems, key=_problem_order):
        result = view.result
        key = (result.status.value, result.id, result.remediation or "")
        group = groups.setdefault(
            key,
            {
                "status": result.status.value,
                "id": result.id,
                "title": result.title,
                "stage": result.stage,
                "severity": result.severity.value,
                "remediation": result.remediation,
                "controls": [],
                "occurrences": [],
            },
        )
        group["occurrences"].append(view)
        group["controls"] += [c for c in result.controls if c not in group["controls"]]
    return list(groups.values())


def _problem_order(view: ResultView) -> tuple[int, int, int]:
    """Errors first (the run is incomplete), then failures by severity, then as recorded."""
    severity = charts.SEVERITIES.index(view.result.severity.value)
    return (0 if view.result.status is Status.ERROR else 1, severity, view.index)


def _control_view(control: ControlRecord, results: list[Result]) -> ControlView:
    counts = {s.value: 0 for s in Status}
    for index in control.evidence:
        counts[results[index].status.value] += 1
    return ControlView(control, control.status, list(control.evidence), counts)


def _stage_views(record: RunRecord, views: list[ResultView], run_dir: Path) -> list[StageView]:
    stages = []
    for summary in record.stage_summaries():
        own = [v for v in views if v.result.stage == summary.name]
        counts = {s.value: 0 for s in Status}
        for view in own:
            if view.result.is_evidence:
                counts[view.result.status.value] += 1
        stage = StageView(
            name=summary.name,
            status=summary.status.value,
            message=summary.message,
            duration_s=summary.duration_s,
            counts=counts,
            results=own,
            figures=[
                (v, [(k, _figure(val)) for k, val in v.result.measured.items()])
                for v in own
                if v.result.measured
            ],
        )
        _add_pictures(stage, run_dir)
        stages.append(stage)
    return stages


def _add_pictures(stage: StageView, run_dir: Path) -> None:
    if stage.name == "load":
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
    elif stage.name == "dast":
        findings = stage.findings = _findings_by_severity(stage.results)
        empty = "no findings (failed, errored or waived) in this run" if stage.results else None
        _draw(stage, "DAST findings by severity", lambda: charts.severity_chart(findings), empty=empty)


def _draw(
    stage: StageView, title: str, draw: Callable[[], charts.Chart | None], *, empty: str | None = None
) -> None:
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
    return (
        f"Canary analysis: {len(missing)} measurement(s) had no numeric value and are not drawn ("
        + ", ".join(f"{n} {phase}" for phase, n in sorted(phases.items()))
        + ")"
        + (f"; reported: {'; '.join(reasons)}" if reasons else "")
        + "."
    )


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


def _verdict(record: RunRecord) -> dict[str, Any]:
    """The record's verdict, laid out for the page (never decided here)."""
    v = record.verdict
    return {"label": v.status.value, "css": VERDICT_CSS[v.status], "exit_code": v.exit_code,
            "reasons": list(v.reasons) + [f"gap: {g.message}" for g in v.gaps], "gaps": v.gaps}


def _frameworks(assessments: list[ControlView], names: dict[str, str]) -> list[dict[str, Any]]:
    """One table per framework (catalog order), one row per control with its references."""
    by_key: dict[str, list[tuple[list[str], ControlView]]] = {}
    for assessment in assessments:
        for key, refs in assessment.control.frameworks.items():
            by_key.setdefault(key, []).append((sorted(refs, key=_natural), assessment))
    order = [k for k in names if k in by_key] + sorted(k for k in by_key if k not in names)
    return [
        {
            "key": key,
            "name": names.get(key, key),
            "rows": sorted(by_key[key], key=lambda r: (_natural(r[0][0]) if r[0] else [], r[1].control.id)),
            "counts": _control_counts([a for _, a in by_key[key]]),
        }
        for key in order
    ]


def _natural(text: str) -> list[tuple[int, str]]:
    """Sort key so that ``V4.2.1`` comes before ``V13.2.1`` and ``AC-3`` before ``AC-12``."""
    return [(int(part), "") if part.isdigit() else (0, part) for part in re.split(r"(\d+)", text)]


def _control_counts(assessments: list[ControlView]) -> dict[str, int]:
    counts = {s.value: 0 for s in ControlStatus}
    for assessment in {id(a): a for a in assessments}.values():
        counts[assessment.status.value] += 1
    return counts


def _unmapped_problems(views: list[ResultView], assessments: list[ControlView]) -> list[ResultView]:
    """Failed or errored results that evidence no catalogued control (invisible in the control view)."""
    mapped = {i for a in assessments for i in a.evidence}
    return [v for v in views if v.result.status in (Status.FAILED, Status.ERROR) and v.index not in mapped]


def _unknown_controls(results: list[Result], controls: list[ControlRecord]) -> list[str]:
    known = {c.id for c in controls}
    return sorted({c for r in results for c in r.controls} - known) if controls else []


def _evidence_links(result: Result, run_dir: Path) -> list[tuple[str, str | None]]:
    links: list[tuple[str, str | None]] = []
    for item in result.evidence:
        path = PurePosixPath(item)
        safe = not path.is_absolute() and ".." not in path.parts
        links.append((item, item if safe and (run_dir / item).exists() else None))
    return links


def _figure(value: float | int | str) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)  # ints verbatim: ids, seeds and byte counts must read exactly


def _run_date(record: RunRecord) -> date:
    """Waiver expiry is judged as of the run, so a report reads the same whenever it is rendered."""
    try:
        return datetime.fromisoformat(record.provenance.started_at.replace("Z", "+00:00")).date()
    except ValueError:
        return date.today()


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


__all__ = ["TIMELINE_PATH", "HtmlReporter", "build_context", "render_html", "write_html"]
