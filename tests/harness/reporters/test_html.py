from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from harness.catalog import control_status
from harness.reporters import load_reporter
from harness.reporters.html import HtmlReporter, write_html
from harness.results import ControlStatus, Result, ResultKind, RunRecord, StageSummary, Status
from tests.harness.reporters.pagecheck import Page, parse
from tests.harness.reporters.sample import SampleRun, assembled, provenance, sample_record, write_sample_run


def render(run: SampleRun) -> Page:
    return parse(write_html(run.run_dir).read_text(encoding="utf-8"))


def results_json(run: SampleRun) -> dict[str, object]:
    data: dict[str, object] = json.loads((run.run_dir / "results.json").read_text(encoding="utf-8"))
    return data


def test_header_counts_match_results_json(sample_run: SampleRun) -> None:
    page = render(sample_run)
    shown = {a["data-count"]: a for a in page.with_attribute("data-count")}
    expected = results_json(sample_run)["counts"]
    assert isinstance(expected, dict)
    texts = _texts_of_counts(sample_run)
    assert set(shown) == {*expected, "total"}
    assert texts == {**{k: str(v) for k, v in expected.items()}, "total": str(sum(expected.values()))}
    assert shown["warned"] and texts["summaries"] == "0"


def _texts_of_counts(run: SampleRun) -> dict[str, str]:
    html = (run.run_dir / "index.html").read_text(encoding="utf-8")
    found = {}
    for chunk in html.split('data-count="')[1:]:
        name, _, rest = chunk.partition('">')
        found[name] = rest.partition("<")[0]
    return found


def test_every_result_is_listed_once_with_its_own_status(sample_run: SampleRun) -> None:
    page = render(sample_run)
    rows = page.with_attribute("data-result-index")
    results = results_json(sample_run)["results"]
    assert isinstance(results, list)
    assert sorted(int(r["data-result-index"]) for r in rows) == list(range(len(results)))
    assert all(r["data-status"] == results[int(r["data-result-index"])]["status"] for r in rows)
    assert Counter(r["data-status"] for r in rows) == Counter(
        {k: v for k, v in sample_run.record.counts().items() if v and k != "summaries"}
    )


def test_skipped_and_errored_results_are_never_shown_as_passed(sample_run: SampleRun) -> None:
    page = render(sample_run)
    for index, result in enumerate(sample_run.record.results):
        shown = page.statuses_of(f"result-{index}")
        assert shown == {result.status.value}, (result.id, shown)
    not_passed = [
        i for i, r in enumerate(sample_run.record.results) if r.status in (Status.SKIPPED, Status.ERROR)
    ]
    assert not_passed, "the sample must contain skipped and errored results"
    assert all("passed" not in page.statuses_of(f"result-{i}") for i in not_passed)


def test_stage_status_is_the_recorded_one_or_decided_by_the_verdict_module(tmp_path: Path) -> None:
    """The page shows the stage status the record holds (the engine's, never re-decided here); a
    stage that has results but no recorded summary gets :func:`harness.verdict.summarize`'s status,
    so an errored or only-skipped stage is never shown as passed."""
    record = sample_record(with_error=True)
    record = assembled(replace(
        record,
        results=[
            *record.results,
            Result("X-1", "extra", "only skipped", Status.SKIPPED, message="tool not installed"),
            Result("Y-1", "broken", "errored", Status.ERROR, message="tool crashed"),
        ],
    ))
    page = render(write_sample_run(tmp_path, record))
    assert page.statuses_of("stage-policy") == {"error"}
    assert page.statuses_of("stage-extra") == {"skipped"}
    assert page.statuses_of("stage-broken") == {"error"}
    assert page.statuses_of("stage-functional") == {"passed"}  # as recorded in the sample


def test_control_statuses_follow_their_evidence(sample_run: SampleRun) -> None:
    page = render(sample_run)
    expected = {
        "LOG-01": "failed",
        "ENC-01": "passed",
        "DR-01": "waived",
        "HA-02": "failed",
        "K8S-01": "passed",
        "AC-01": "passed",
        "REL-01": "failed",  # errored result -> failed
        "UI-01": "not evidenced",
        "SUP-01": "not evidenced",
    }
    for control, status in expected.items():
        assert page.statuses_of(f"control-{control}") == {status}, control


def test_control_without_evidence_says_not_evidenced(sample_run: SampleRun) -> None:
    html = write_html(sample_run.run_dir).read_text(encoding="utf-8")
    section = html.split('id="control-SUP-01"')[1].split("</article>")[0]
    assert "Not evidenced: no result in this run evidences this control" in section
    assert "2 control(s) not evidenced: UI-01, SUP-01" in html


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], ControlStatus.NOT_EVIDENCED),
        ([Status.SKIPPED, Status.SKIPPED], ControlStatus.NOT_EVIDENCED),
        ([Status.PASSED, Status.SKIPPED], ControlStatus.PASSED),
        ([Status.PASSED, Status.ERROR], ControlStatus.FAILED),
        ([Status.PASSED, Status.FAILED, Status.WAIVED], ControlStatus.FAILED),
        ([Status.PASSED, Status.WAIVED], ControlStatus.WAIVED),
        ([Status.WAIVED, Status.SKIPPED], ControlStatus.WAIVED),
        ([Status.ERROR], ControlStatus.FAILED),
        ([Status.PASSED, Status.WARNED], ControlStatus.WARNED),
        ([Status.WARNED, Status.WAIVED], ControlStatus.WAIVED),
    ],
)
def test_control_status_table(statuses: list[Status], expected: ControlStatus) -> None:
    assert control_status(statuses) is expected


def test_control_is_evidenced_by_pattern_or_by_the_result_naming_it(sample_run: SampleRun) -> None:
    results = sample_run.record.results
    by_id = {c.id: c for c in sample_run.record.controls}
    assert [results[i].id for i in by_id["AC-01"].evidence] == ["SCN-other-user-404"]  # via Result.controls
    assert {results[i].id for i in by_id["WEB-01"].evidence} == {
        "ZAP-10038",
        "ZAP-10021",
        "ZAP-10096",
        "ZAP-40012",
    }


def test_waivers_expiring_within_30_days_are_flagged(sample_run: SampleRun) -> None:
    page = render(sample_run)
    states = {a["data-waiver"]: a["data-waiver-state"] for a in page.with_attribute("data-waiver")}
    assert states == {"CKV_AWS_144": "expiring", "ZAP-10021": "active", "EU-TAG-002": "expired"}
    used = {a["data-waiver"]: a["data-waiver-used"] for a in page.with_attribute("data-waiver")}
    assert used == {"CKV_AWS_144": "1", "ZAP-10021": "1", "EU-TAG-002": "0"}
    html = (sample_run.run_dir / "index.html").read_text(encoding="utf-8")
    assert "expires in 20 day(s)" in html
    assert "expired 6 day(s) ago" in html


def test_a_record_without_controls_says_so_and_never_claims_the_catalog_absent(tmp_path: Path) -> None:
    run = write_sample_run(tmp_path, assembled(sample_record(), catalog=False))
    page = render(run)
    html = (run.run_dir / "index.html").read_text(encoding="utf-8")
    assert "No controls in this run's record" in html
    assert "No control catalog given" not in html
    assert not [b for b in page.badges if b.ref.startswith("control-")]


def test_reporters_do_not_read_the_catalog_files(sample_run: SampleRun) -> None:
    sample_run.controls.write_text("controls: {not: a list}\n", encoding="utf-8")
    sample_run.waivers.unlink()
    page = render(sample_run)  # the record carries the controls; the files are not read again
    assert page.statuses_of("control-SUP-01") == {"not evidenced"}


def test_proven_on_is_shown_per_result_and_per_control(tmp_path: Path) -> None:
    record = sample_record()
    proven = {"load": "local model of the Kubernetes HPA v2 algorithm", "policy": "checkov 3.3.30"}
    results = [replace(r, proven_on=proven.get(r.stage)) for r in record.results]
    run = write_sample_run(tmp_path, assembled(record.revised(results=results)))
    html = render_text(run)
    assert 'data-proven-on="checkov 3.3.30"' in html
    perf = html.split('data-control-proven-on="PERF-01"')[1].split("</td>")[0]
    assert "local model of the Kubernetes HPA v2 algorithm" in perf and 'data-model-only="PERF-01"' in perf
    assert "rest only on a model, not a real platform: PERF-01" in html


def test_warned_and_tool_summaries_are_shown_apart(tmp_path: Path) -> None:
    record = sample_record()
    extra = [Result("ZAP-10020", "dast", "X-Frame-Options", Status.WARNED, message="missing on /"),
             Result("DAST-zap", "dast", "ZAP scan", Status.PASSED, kind=ResultKind.SUMMARY,
                    message="412 requests")]
    run = write_sample_run(tmp_path, assembled(record.revised(results=[*record.results, *extra])))
    html = render_text(run)
    warned = html.split('id="warned"')[1].split("</section>")[0]
    assert "ZAP-10020" in warned and 'data-count="warned">1<' in html
    assert 'data-count="summaries">1<' in html
    assert 'data-kind="summary"' in html.split('id="stage-dast"')[1].split("</section>")[0]


def render_text(run: SampleRun) -> str:
    return write_html(run.run_dir).read_text("utf-8")


def test_load_charts_come_from_the_timeline(sample_run: SampleRun) -> None:
    html = render_text(sample_run)
    load = html.split('id="stage-load"')[1].split("</section>")[0]
    assert load.count('src="data:image/svg+xml;base64,') == 3
    assert "no data in this run" not in load


def test_sections_without_data_say_so(tmp_path: Path) -> None:
    run = write_sample_run(tmp_path, sample_record(), with_timeline=False)
    html = render_text(run)
    load = html.split('id="stage-load"')[1].split("</section>")[0]
    assert "data:image" not in load
    assert "Load timeline (evidence/load/timeline.json): no data in this run." in load


def test_partial_timeline_draws_what_is_there(tmp_path: Path) -> None:
    run = write_sample_run(tmp_path, sample_record(), with_timeline=False)
    timeline = {"samples": [{"t": 0, "p95_ms": 120.0}, {"t": 10, "p95_ms": 180.0}]}
    (run.run_dir / "evidence/load").mkdir(parents=True)
    (run.run_dir / "evidence/load/timeline.json").write_text(json.dumps(timeline), encoding="utf-8")
    load = render_text(run).split('id="stage-load"')[1].split("</section>")[0]
    assert load.count("data:image/svg") == 1
    assert "Replicas against load: no data in this run." in load
    assert "Canary weight and analysis: no data in this run." in load


def test_page_is_self_contained(sample_run: SampleRun) -> None:
    page = render(sample_run)
    assert not {"script", "link", "iframe", "object", "embed"} & set(page.tags)
    urls = [a.get("src", "") + a.get("href", "") for a in page.attributes if "src" in a or "href" in a]
    assert urls
    assert not [u for u in urls if "://" in u or u.startswith("//")]


def test_missing_evidence_file_is_marked(sample_run: SampleRun) -> None:
    (sample_run.run_dir / "evidence/policy/custom.json").unlink()
    html = render_text(sample_run)
    assert "evidence/policy/custom.json (missing)" in html
    assert 'href="evidence/policy/custom.json"' not in html


def test_nothing_verified_is_not_a_pass(tmp_path: Path) -> None:
    record = RunRecord(
        "r1",
        provenance(),
        [StageSummary("policy", Status.SKIPPED, "no checkov")],
        [Result("A", "policy", "a", Status.SKIPPED, message="no checkov")],
    )
    run = write_sample_run(tmp_path, record)
    html = render_text(run)
    assert 'data-verdict="NOTHING VERIFIED"' in html
    assert 'data-verdict="PASSED' not in html


def test_html_reporter_is_the_registered_html_slot(sample_run: SampleRun) -> None:
    reporter = load_reporter("html")
    assert isinstance(reporter, HtmlReporter)
    written = reporter.write(sample_run.record, sample_run.run_dir)
    assert written == sample_run.run_dir / "index.html"
    assert 'data-ref="control-SUP-01"' in written.read_text(encoding="utf-8")


def test_a_results_json_that_disagrees_is_flagged(sample_run: SampleRun) -> None:
    assert 'data-integrity="mismatch"' not in render_text(sample_run)
    path = sample_run.run_dir / "results.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["counts"]["passed"] += 1  # someone edited the summary but not the results
    path.write_text(json.dumps(data), encoding="utf-8")
    HtmlReporter().write(sample_run.record, sample_run.run_dir)
    html = (sample_run.run_dir / "index.html").read_text(encoding="utf-8")
    assert 'data-integrity="mismatch"' in html
    assert "results.json says counts" in html


def test_analysis_without_numbers_is_counted_not_hidden(tmp_path: Path) -> None:
    run = write_sample_run(tmp_path, sample_record(), with_timeline=False)
    timeline = {
        "samples": [{"t": 0, "canary_weight": 0}, {"t": 10, "canary_weight": 20}],
        "analysis": [
            {"t": 5, "metric": "success-rate", "value": [], "phase": "Error", "message": "no data"},
            {"t": 5, "metric": "latency-p95", "value": 0.2, "phase": "Successful"},
        ],
    }
    (run.run_dir / "evidence/load").mkdir(parents=True)
    (run.run_dir / "evidence/load/timeline.json").write_text(json.dumps(timeline), encoding="utf-8")
    load = render_text(run).split('id="stage-load"')[1].split("</section>")[0]
    assert "1 measurement(s) had no numeric value and are not drawn (1 Error); reported: no data." in load


def test_large_runs_fold_passed_results_but_list_every_one(tmp_path: Path) -> None:
    record = sample_record()
    many = [Result(f"CKV_X_{i}", "policy", "generated", Status.PASSED) for i in range(400)]
    record = assembled(record.revised(results=[*record.results, *many]))
    run = write_sample_run(tmp_path, record)
    page = parse(render_text(run))
    rows = page.with_attribute("data-result-index")
    assert sorted(int(r["data-result-index"]) for r in rows) == list(range(len(record.results)))
    counts = record.counts()
    expected = Counter({k: v for k, v in counts.items() if v and k != "summaries"})
    assert Counter(r["data-status"] for r in rows) == expected


def test_a_chart_that_breaks_is_reported_not_fatal(
    sample_run: SampleRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.reporters import charts

    def broken(*_: object) -> None:
        raise ValueError("bad sample")

    monkeypatch.setattr(charts, "replicas_chart", broken)
    load = render_text(sample_run).split('id="stage-load"')[1].split("</section>")[0]
    assert "Replicas against load: could not be drawn (ValueError: bad sample)." in load
    assert load.count("data:image/svg") == 2


def test_failures_outside_every_control_are_called_out(tmp_path: Path) -> None:
    record = sample_record()
    assert not parse(render_text(write_sample_run(tmp_path / "a", record))).with_attribute("data-unmapped")
    orphan = Result("LOAD-queue-depth", "load", "queue drains", Status.FAILED, message="depth 900")
    run = write_sample_run(tmp_path / "b", assembled(record.revised(results=[*record.results, orphan])))
    html = render_text(run)
    (notice,) = parse(html).with_attribute("data-unmapped")
    assert notice["data-unmapped"] == "1"
    assert "1 failed or errored result(s) evidence no control in the catalog" in html


def test_every_internal_link_has_a_target(sample_run: SampleRun) -> None:
    record = sample_record(with_error=True)
    record.results[0].controls.append("NOT-IN-CATALOG")
    record = assembled(record)
    run = write_sample_run(sample_run.run_dir.parent.parent / "links", record)
    page = parse(render_text(run))
    ids = {a["id"] for a in page.attributes if "id" in a}
    targets = {a["href"][1:] for a in page.attributes if a.get("href", "").startswith("#")}
    assert targets - ids == set()
