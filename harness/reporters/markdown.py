"""``summary.md``: the PR comment. Verdict, counts, stages, failed results, errors, skipped with
reasons, waivers, provenance. A skipped stage or result is never shown as passed."""

from __future__ import annotations

from pathlib import Path

from harness.reporters import write_atomic
from harness.results import Result, RunRecord, StageSummary, Status

FILENAME = "summary.md"
MAX_ROWS = 50  # a PR comment has a size limit; the full list is in the other reports
VERDICTS = {
    0: "✅ **PASSED**: all gates pass",
    1: "❌ **FAILED**: at least one gate failed",
    2: "⚠️ **ERROR**: the harness or a tool broke; the verdict is incomplete",
}
NOTHING_VERIFIED = "⏭️ **NOTHING VERIFIED**: no check ran to completion (everything was skipped)"
ICONS = {Status.PASSED: "✅ passed", Status.FAILED: "❌ failed", Status.ERROR: "⚠️ error",
         Status.SKIPPED: "⏭️ skipped", Status.WAIVED: "🟡 waived"}


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows[:MAX_ROWS]]
    if len(rows) > MAX_ROWS:
        lines.append(f"\n… and {len(rows) - MAX_ROWS} more (see results.json)")
    return lines


def _counts(record: RunRecord) -> list[str]:
    counts = record.counts()
    return _table([s.value for s in Status], [[str(counts[s.value]) for s in Status]])


def _stages(stages: list[StageSummary]) -> list[str]:
    rows = [[s.name, ICONS[s.status], f"{s.duration_s:.1f}s", s.message] for s in stages]
    return _table(["stage", "status", "duration", "message"], rows)


def _results(title: str, results: list[Result], *, reason: str = "message") -> list[str]:
    if not results:
        return []
    rows = [[f"`{r.id}`", r.stage, r.severity.value, r.title, r.location or "", r.message]
            for r in results]
    return ["", f"### {title} ({len(results)})", "",
            *_table(["id", "stage", "severity", "title", "location", reason], rows)]


def _waived(results: list[Result]) -> list[str]:
    if not results:
        return []
    rows = [[f"`{r.id}`", r.location or "", (r.waiver or {}).get("reason", r.message),
             (r.waiver or {}).get("owner", ""), (r.waiver or {}).get("expires", "")] for r in results]
    return ["", f"### Waived ({len(results)})", "",
            *_table(["id", "location", "reason", "owner", "expires"], rows)]


def _provenance(record: RunRecord) -> list[str]:
    p = record.provenance
    sha = (p.git_sha or "unknown")[:12]
    return ["", f"<sub>run `{record.run_id}` · target `{p.target}` · profile `{p.profile}` · "
                f"commit `{sha}` · harness {p.harness_version} · {p.started_at} → {p.finished_at or '?'}"
                f" · host `{p.host}`</sub>"]


def verdict(record: RunRecord) -> str:
    """The headline; a run that verified nothing says so instead of claiming a pass."""
    verified = any(r.status in (Status.PASSED, Status.WAIVED) for r in record.results)
    if record.exit_code == 0 and not verified:
        return NOTHING_VERIFIED
    return VERDICTS[record.exit_code]


def render(record: RunRecord) -> str:
    by_status = {s: [r for r in record.results if r.status is s] for s in Status}
    lines = ["## Verification harness", "", verdict(record), "", *_counts(record)]
    if record.stages:
        lines += ["", "### Stages", "", *_stages(record.stages)]
    lines += _results("Failed", by_status[Status.FAILED])
    lines += _results("Errors", by_status[Status.ERROR])
    lines += _results("Skipped", by_status[Status.SKIPPED], reason="reason")
    lines += _waived(by_status[Status.WAIVED])
    lines += _provenance(record)
    return "\n".join(lines) + "\n"


class MarkdownReporter:
    """Writes ``summary.md`` for a PR comment or ``$GITHUB_STEP_SUMMARY``."""

    NAME = "markdown"

    def write(self, record: RunRecord, run_dir: Path) -> list[Path]:
        return [write_atomic(run_dir / FILENAME, render(record))]


__all__ = ["FILENAME", "MarkdownReporter", "render", "verdict"]
