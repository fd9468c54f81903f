"""``summary.md``: the PR comment. The record's verdict and its gaps, counts, stages, problems (errors
first, then every critical and high failure before any cut, then the rest), warned, skipped with
reasons, waivers, controls with what proved them, tool summaries, provenance. A skipped stage or
result is never shown as passed; the verdict is the record's, never decided here."""

from __future__ import annotations

from pathlib import Path

from harness.reporters import write_atomic
from harness.results import Outcome, Result, RunRecord, StageSummary, Status, problem_rank

FILENAME = "summary.md"
MAX_ROWS = 50  # a PR comment has a size limit; the full list is in the other reports
ICONS = {Outcome.PASSED: "✅", Outcome.PASSED_WITH_GAPS: "🟨", Outcome.FAILED: "❌", Outcome.ERROR: "⚠️",
         Outcome.NOTHING_VERIFIED: "⛔"}
MEANINGS = {
    Outcome.PASSED: "every gate passed and every catalogued control is evidenced",
    Outcome.PASSED_WITH_GAPS: "every gate that ran passed, but the run does not cover everything (gaps)",
    Outcome.FAILED: "at least one gate failed",
    Outcome.ERROR: "the harness or a tool broke; the verdict is incomplete",
    Outcome.NOTHING_VERIFIED: "no check ran to completion: this run proves nothing",
}
STATUS_ICONS = {Status.PASSED: "✅ passed", Status.FAILED: "❌ failed", Status.ERROR: "⚠️ error",
                Status.SKIPPED: "⏭️ skipped", Status.WAIVED: "🟡 waived", Status.WARNED: "🟠 warned"}
_SEVERE = ("critical", "high")


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def _table(header: list[str], rows: list[list[str]], *, keep: int = 0) -> list[str]:
    """A Markdown table of at most ``max(MAX_ROWS, keep)`` rows (``keep``: rows never cut)."""
    limit = max(MAX_ROWS, keep)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"\n… and {len(rows) - limit} more (see results.json or index.html)")
    return lines


def verdict(record: RunRecord) -> str:
    """The headline: the record's verdict, its exit code and what it means."""
    v = record.verdict
    return f"{ICONS[v.status]} **{v.status.value}** (exit {v.exit_code}): {MEANINGS[v.status]}"


def _why(record: RunRecord) -> list[str]:
    lines = [f"- {reason}" for reason in record.verdict.reasons]
    lines += [f"- gap ({gap.kind}): {gap.message}" for gap in record.verdict.gaps]
    return ["", *lines] if lines else []


def _counts(record: RunRecord) -> list[str]:
    counts = record.counts()
    header = [s.value for s in Status] + ["tool summaries"]
    return _table(header, [[str(counts[s.value]) for s in Status] + [str(counts["summaries"])]])


def _stages(stages: list[StageSummary]) -> list[str]:
    rows = [[s.name, STATUS_ICONS[s.status], f"{s.duration_s:.1f}s", s.message] for s in stages]
    return _table(["stage", "status", "duration", "message"], rows)


def _section(title: str, header: list[str], rows: list[list[str]], *, keep: int = 0) -> list[str]:
    """A titled table, or nothing at all when it has no rows."""
    return ["", f"### {title}", "", *_table(header, rows, keep=keep)] if rows else []


def _problems(results: list[Result]) -> list[str]:
    problems = sorted((r for r in results if r.status in (Status.ERROR, Status.FAILED)), key=problem_rank)
    keep = sum(r.status is Status.ERROR or r.severity.value in _SEVERE for r in problems)
    rows = [[STATUS_ICONS[r.status], f"`{r.id}`", r.severity.value, r.title, r.location or "", r.message,
             r.proven_on or ""] for r in problems]
    errors = sum(r.status is Status.ERROR for r in problems)
    return _section(f"Problems ({errors} error(s), {len(problems) - errors} failed)",
                    ["status", "id", "severity", "title", "location", "message", "proven on"], rows,
                    keep=keep)


def _results(title: str, results: list[Result], *, reason: str = "message") -> list[str]:
    rows = [[f"`{r.id}`", r.stage, r.severity.value, r.title, r.location or "", r.message, r.proven_on or ""]
            for r in results]
    return _section(f"{title} ({len(results)})",
                    ["id", "stage", "severity", "title", "location", reason, "proven on"], rows)


def _waived(results: list[Result]) -> list[str]:
    rows = [[f"`{r.id}`", r.location or "", (r.waiver or {}).get("reason", r.message),
             (r.waiver or {}).get("owner", ""), (r.waiver or {}).get("approved_by", ""),
             (r.waiver or {}).get("expires", "")] for r in results]
    return _section(f"Waived ({len(results)})",
                    ["id", "location", "reason", "owner", "approved by", "expires"], rows)


def _controls(record: RunRecord) -> list[str]:
    if not record.controls:
        return ["", "### Controls", "", "No control catalog in this run's record."]
    rows = [[f"`{c.id}`", c.title, c.status.value + (" (model only)" if c.model_only else ""),
             str(len(c.evidence)), ", ".join(c.proven_on)] for c in record.controls]
    return _section(f"Controls ({len(record.controls)}, from {record.catalog or 'the built-in catalog'})",
                    ["control", "title", "status", "results", "proven on"], rows)


def _summaries(results: list[Result]) -> list[str]:
    tools = [r for r in results if not r.is_evidence]
    rows = [[f"`{r.id}`", r.stage, r.status.value, r.message, r.proven_on or ""] for r in tools]
    return _section(f"Tool summaries ({len(tools)}, not evidence)",
                    ["id", "stage", "status", "message", "proven on"], rows)


def _provenance(record: RunRecord) -> list[str]:
    p = record.provenance
    sha = (p.git_sha or "unknown")[:12]
    tools = ", ".join(f"{k} {v}" for k, v in p.tool_versions.items())
    return ["", f"<sub>run `{record.run_id}` · target `{p.target}` · profile `{p.profile}` · "
                f"commit `{sha}` · harness {p.harness_version} · {p.started_at} → {p.finished_at or '?'}"
                f" · host `{p.host}` · tools: {tools}</sub>"]


def render(record: RunRecord) -> str:
    checks = [r for r in record.results if r.is_evidence]
    by_status = {s: [r for r in checks if r.status is s] for s in Status}
    lines = ["## Verification harness", "", verdict(record), *_why(record), "", *_counts(record)]
    if record.stages:
        lines += ["", "### Stages", "", *_stages(record.stages)]
    lines += _problems(record.results)
    lines += _results("Warned (not gating)", by_status[Status.WARNED])
    lines += _results("Skipped", by_status[Status.SKIPPED], reason="reason")
    lines += _waived(by_status[Status.WAIVED])
    lines += _controls(record)
    lines += _summaries(record.results)
    lines += _provenance(record)
    return "\n".join(lines) + "\n"


class MarkdownReporter:
    """Writes ``summary.md`` for a PR comment or ``$GITHUB_STEP_SUMMARY``."""

    NAME = "markdown"

    def write(self, record: RunRecord, run_dir: Path) -> list[Path]:
        return [write_atomic(run_dir / FILENAME, render(record))]


__all__ = ["FILENAME", "MarkdownReporter", "render", "verdict"]
