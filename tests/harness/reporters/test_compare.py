from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from harness.errors import ReportError
from harness.reporters.compare import compare_runs, render_html, render_markdown, write_comparison
from harness.reporters.html import write_html
from harness.results import Status, find_results, load_record
from tests.harness.reporters.sample import SampleRun, regressed, sample_record, write_sample_run


def test_planted_regression_is_detected() -> None:
    old = sample_record()
    comparison = compare_runs(old, regressed(old, "run-2"))
    assert [(c.id, c.old, c.new) for c in comparison.new_failures] == [
        ("SCN-other-user-404", "passed", "failed")
    ]
    assert [(c.id, c.old, c.new) for c in comparison.fixed] == [("ZAP-10038", "failed", "passed")]
    assert [(f.id, f.name, f.old, f.new) for f in comparison.figures] == [
        ("SLO-upload-p95", "p95_ms", 412.0, 655.0)
    ]
    assert comparison.has_regression
    assert comparison.new_counts["failed"] == comparison.old_counts["failed"]  # one in, one out


def test_identical_runs_compare_empty() -> None:
    record = sample_record()
    comparison = compare_runs(record, record)
    assert comparison.is_empty
    assert not comparison.has_regression
    assert "No result changed status" in render_markdown(comparison)


def test_a_result_that_disappears_is_not_counted_as_fixed() -> None:
    old = sample_record()
    new = replace(old, results=[r for r in old.results if r.id != "CKV_AWS_18"])
    comparison = compare_runs(old, new)
    assert comparison.fixed == []
    assert [(c.id, c.old, c.new) for c in comparison.gone] == [("CKV_AWS_18", "failed", None)]


def test_passed_to_skipped_is_a_change_not_a_fix_or_failure() -> None:
    old = sample_record()
    new = replace(
        old,
        results=[
            replace(r, status=Status.SKIPPED, message="no ZAP daemon") if r.id == "ZAP-40012" else r
            for r in old.results
        ],
    )
    comparison = compare_runs(old, new)
    assert [(c.id, c.old, c.new) for c in comparison.other_changes] == [("ZAP-40012", "passed", "skipped")]
    assert not comparison.new_failures


def test_same_id_on_two_resources_is_compared_per_location() -> None:
    old = sample_record()
    extra = replace(old.results[0], location="terraform/modules/other/main.tf:3", status=Status.PASSED)
    new = replace(old, results=[*old.results, replace(extra, status=Status.FAILED)])
    comparison = compare_runs(replace(old, results=[*old.results, extra]), new)
    assert [(c.id, c.location) for c in comparison.new_failures] == [
        ("CKV_AWS_18", "terraform/modules/other/main.tf:3")
    ]


def test_markdown_lists_the_regression_for_pr_comments() -> None:
    old = sample_record()
    text = render_markdown(compare_runs(old, regressed(old, "run-2")))
    assert text.startswith("### Compared with run `")
    assert "**Regression:**" in text
    assert "#### New failures and errors" in text and "`SCN-other-user-404`" in text
    assert "#### Fixed" in text and "`ZAP-10038`" in text
    assert "| p95_ms | 412 | 655 | +243 (+59.0 %) |" in text


def test_markdown_cells_cannot_break_the_table() -> None:
    old = sample_record()
    new = replace(
        old,
        results=[
            replace(r, status=Status.FAILED, title="a | b\nc") if r.id == "ZAP-40012" else r
            for r in old.results
        ],
    )
    text = render_markdown(compare_runs(old, new))
    assert "a \\| b c" in text


def test_html_fragment_is_escaped_and_in_the_report(tmp_path: Path) -> None:
    old = sample_record()
    new = regressed(old, "run-2")
    new = replace(
        new,
        results=[
            replace(r, title="<script>x</script>") if r.id == "SCN-other-user-404" else r for r in new.results
        ],
    )
    fragment = render_html(compare_runs(old, new))
    assert "<script>" not in fragment and "&lt;script&gt;" in fragment
    run = write_sample_run(tmp_path, new)
    html = write_html(run.run_dir, baseline=old).read_text("utf-8")
    assert 'id="comparison"' in html
    assert (
        "compared with run 20261126T044000Z-3f9c2ab: 1 new failure(s), 1 fixed, 1 changed figure(s)" in html
    )
    assert 'data-comparison="new-failures"' in html and 'data-comparison="fixed"' in html


def test_load_run_by_id_directory_or_file(sample_run: SampleRun) -> None:
    reports = sample_run.run_dir.parent
    run_id = sample_run.record.run_id
    for ref in (run_id, sample_run.run_dir, sample_run.run_dir / "results.json", str(sample_run.run_dir)):
        assert load_record(find_results(ref, reports)).run_id == run_id
    with pytest.raises(ReportError, match="no run 'nope'"):
        find_results("nope", reports)
    (sample_run.run_dir / "results.json").write_text(json.dumps({"run_id": 1}), encoding="utf-8")
    with pytest.raises(ReportError, match=r"does not match results\.schema\.json"):
        load_record(find_results(run_id, reports))


def test_write_comparison_sets_one_section_in_summary(sample_run: SampleRun) -> None:
    summary = sample_run.run_dir / "summary.md"
    summary.write_text("## Verification harness\n\nFAILED\n", encoding="utf-8")
    old = sample_record()
    comparison = compare_runs(old, regressed(old, sample_run.record.run_id))
    paths = write_comparison(sample_run.run_dir, comparison)
    assert paths == [sample_run.run_dir / "comparison.md", summary]
    write_comparison(sample_run.run_dir, comparison)  # again: replaced, not stacked
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## Verification harness\n\nFAILED\n")
    assert text.count("### Compared with run") == 1
    assert "`SCN-other-user-404`" in text
    assert (sample_run.run_dir / "comparison.md").read_text(encoding="utf-8") in text
