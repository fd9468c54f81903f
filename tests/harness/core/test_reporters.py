from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from harness import reporters
from harness.errors import ConfigError
from harness.output import ReportWriter
from harness.reporters import (
    json_report,
    junit,
    load_reporter,
    load_reporters,
    markdown,
    sarif,
    update_latest,
)
from harness.results import Result, RunRecord, Severity, StageSummary, Status, find_results
from harness.schemas import load_schema, results_errors
from tests.harness.core.conftest import make_record

DATA = Path(__file__).parent / "data"
SNAPSHOTS = Path(__file__).parent / "snapshots"


def assert_snapshot(name: str, text: str) -> None:
    """Compare with snapshots/<name>; HARNESS_UPDATE_SNAPSHOTS=1 rewrites it."""
    path = SNAPSHOTS / name
    if os.environ.get("HARNESS_UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


# -- results.json ------------------------------------------------------------------------------
def test_results_json_validates_against_schema(record: RunRecord, tmp_path: Path) -> None:
    [path] = json_report.JsonReporter().write(record, tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert results_errors(data) == []
    assert data["schema_version"] == "1.2"
    assert data["verdict"]["status"] == "ERROR" and data["verdict"]["exit_code"] == data["exit_code"] == 2
    assert data["exit_code"] == 2
    assert RunRecord.from_dict(data).to_dict() == record.to_dict()


def test_results_schema_is_a_valid_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(load_schema("results"))
    jsonschema.Draft202012Validator.check_schema(load_schema("config"))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["results"][4].update(message=""), "results/4/message"),
        (lambda d: d["results"][0].update(status="ok"), "results/0/status"),
        (lambda d: d["stages"][2].update(message=""), "stages/2/message"),
        (lambda d: d.pop("provenance"), "'provenance' is a required property"),
        (lambda d: d["results"][0].update(evidence=["/etc/passwd"]), "results/0/evidence/0"),
        (lambda d: d.update(schema_version="2.0"), "schema_version"),
    ],
)
def test_results_schema_rejects(record: RunRecord, change: Any, expected: str) -> None:
    data = record.to_dict()
    change(data)
    errors = results_errors(data)
    assert errors
    assert expected in errors[0]


# -- SARIF -------------------------------------------------------------------------------------
def test_sarif_is_valid_sarif_2_1_0(record: RunRecord) -> None:
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    log = json.loads(sarif.render(record))
    jsonschema.Draft4Validator(schema).validate(log)
    assert log["version"] == "2.1.0"


def test_sarif_content(record: RunRecord) -> None:
    run = sarif.build(record)["runs"][0]
    results = {r["ruleId"]: r for r in run["results"]}
    assert set(results) == {"CKV_AWS_21", "EU-K8S-007"}  # findings only: failed + waived
    failed = results["CKV_AWS_21"]
    assert failed["level"] == "error"
    region = failed["locations"][0]["physicalLocation"]
    assert region == {
        "artifactLocation": {"uri": "terraform/s3.tf", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 3},
    }
    assert results["EU-K8S-007"]["suppressions"][0]["justification"] == "single node dev"
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["CKV_AWS_21", "EU-K8S-007"]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notes = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert notes == ["SCN-upload-png: connection refused", "stage functional: 1 error, 1 skipped"]


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("https://x/api", {"physicalLocation": {"artifactLocation": {"uri": "https://x/api"}}}),
        ("./a/b.tf", {"physicalLocation": {"artifactLocation": {"uri": "a/b.tf", "uriBaseId": "%SRCROOT%"}}}),
        (
            ".github/workflows/ci.yml:4:7",
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": ".github/workflows/ci.yml", "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": 4, "startColumn": 7},
                }
            },
        ),
    ],
)
def test_sarif_locations(location: str, expected: dict[str, Any]) -> None:
    assert sarif._location(location) == expected


# -- junit.xml ---------------------------------------------------------------------------------
def test_junit_parses_and_never_counts_skipped_as_passed(record: RunRecord) -> None:
    root = ET.fromstring(junit.render(record))
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "6",
        "1",
        "1",
        "3",
    )
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["harness.policy", "harness.functional", "harness.dast"]
    waived = suites["harness.policy"].find("testcase[@name='EU-K8S-007 [manifests/base/api.yaml:1]']")
    assert waived is not None
    skipped = waived.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "waived: waived"
    dast = suites["harness.dast"].findall("testcase")
    assert len(dast) == 1
    dast_skip = dast[0].find("skipped")
    assert dast_skip is not None
    assert dast_skip.get("message") == "stage 'dast' is not built yet"
    # a stage that errored with an error result is not reported twice
    assert len(suites["harness.functional"].findall("testcase")) == 2


# -- summary.md --------------------------------------------------------------------------------
def test_summary_markdown_snapshot(record: RunRecord) -> None:
    assert_snapshot("summary.md", markdown.render(record))


def test_summary_never_shows_skipped_as_passed() -> None:
    record = make_record(
        results=[Result("SCN-a", "functional", "a", Status.SKIPPED, message="no browser")],
        stages_=[StageSummary("functional", Status.SKIPPED, "every check was skipped")],
    )
    text = markdown.render(record)
    assert record.exit_code == 2  # nothing verified is never exit 0
    assert "NOTHING VERIFIED** (exit 2)" in text
    assert "✅" not in text
    assert "| `SCN-a` | functional | medium | a |  | no browser |  |" in text


def test_summary_passed_verdict() -> None:
    record = make_record(
        results=[Result("CKV_1", "policy", "t", Status.PASSED)],
        stages_=[StageSummary("policy", Status.PASSED)],
    )
    assert markdown.render(record).splitlines()[2] == (
        "✅ **PASSED** (exit 0): every gate passed and every catalogued control is evidenced")


def test_summary_escapes_table_cells() -> None:
    record = make_record(results=[Result("X", "policy", "a|b", Status.FAILED, message="line1\nline2")],
                         stages_=[])
    assert "| ❌ failed | `X` | medium | a\\|b |  | line1<br>line2 |  |" in markdown.render(record)


def test_summary_lists_errors_then_every_critical_and_high_before_any_cut() -> None:
    lows = [Result(f"LOW-{i:03}", "policy", "low", Status.FAILED, Severity.LOW) for i in range(80)]
    highs = [Result(f"ZZ-HIGH-{i:02}", "policy", "high", Status.FAILED, Severity.HIGH) for i in range(30)]
    crits = [Result(f"ZZ-CRIT-{i:02}", "policy", "critical", Status.FAILED, Severity.CRITICAL)
             for i in range(25)]
    error = Result("ZZ-BROKE", "policy", "tool broke", Status.ERROR)
    text = markdown.render(make_record(results=[*lows, *highs, *crits, error], stages_=[]))
    rows = [line for line in text.splitlines() if line.startswith("| ") and "`" in line]
    ids = [row.split("`")[1] for row in rows]
    assert ids[0] == "ZZ-BROKE"
    assert ids[1:26] == [f"ZZ-CRIT-{i:02}" for i in range(25)]
    assert ids[26:56] == [f"ZZ-HIGH-{i:02}" for i in range(30)]
    assert "… and 80 more" in text  # lows are cut, never a critical or high one


def test_summary_shows_warned_apart_and_proven_on() -> None:
    warned = Result("ZAP-10020", "dast", "X-Frame-Options", Status.WARNED, message="missing",
                    proven_on="ZAP 2.16.1")
    passed = Result("CKV_1", "policy", "t", Status.PASSED, proven_on="checkov 3.3.30")
    text = markdown.render(make_record(results=[warned, passed], stages_=[]))
    assert "### Warned (not gating) (1)" in text and "| ZAP 2.16.1 |" in text
    assert "PASSED WITH GAPS" in text and "gap (warned): 1 finding(s) warned (not gating)" in text


# -- registry, writer, latest --------------------------------------------------------------------
def test_registry_skips_modules_that_are_not_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(reporters.REPORTERS, "html", "harness.reporters.not_built_yet:HtmlReporter")
    assert load_reporter("html") is None
    names = [r.NAME for r in load_reporters()]
    assert names == ["json", "junit", "sarif", "markdown", "oscal", "bundle"]
    with pytest.raises(ConfigError, match="unknown report format 'pdf'"):
        load_reporters(["pdf"])


def test_a_reporter_that_fails_to_import_is_an_error_and_the_others_still_load(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A reporter module that raises on import: the writer lists it as an error (the run exits 2)
    and keeps the other reporters; without a list to collect into, the import error is raised."""
    (tmp_path / "broken_reporter_mod.py").write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(reporters.REPORTERS, "markdown", "broken_reporter_mod:Reporter")
    errors: list[str] = []
    names = [r.NAME for r in load_reporters(["json", "markdown"], errors)]
    assert names == ["json"]
    assert errors == ["markdown: cannot load: RuntimeError: boom"]
    with pytest.raises(RuntimeError, match="boom"):
        load_reporters(["markdown"])


def test_writer_records_a_broken_reporter_and_writes_the_others(record: RunRecord, tmp_path: Path) -> None:
    class Broken:
        NAME = "broken"

        def write(self, record: RunRecord, run_dir: Path) -> list[Path]:
            raise RuntimeError("disk full")

    run_dir = tmp_path / record.run_id
    writer = ReportWriter([Broken(), markdown.MarkdownReporter()])
    written = writer.write(record, run_dir)
    assert written == [run_dir / "summary.md"]
    assert writer.errors == ["broken: RuntimeError: disk full"]
    assert (tmp_path / "latest").resolve() == run_dir.resolve()


def test_latest_symlink_and_pointer_file_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "run-1").mkdir()
    (tmp_path / "run-1" / "results.json").write_text("{}", encoding="utf-8")
    update_latest(tmp_path, "run-1")
    assert (tmp_path / "latest").is_symlink()
    assert find_results(None, tmp_path) == tmp_path / "latest" / "results.json"

    def no_symlinks(self: Path, target: str, target_is_directory: bool = False) -> None:
        raise OSError("symlinks are not supported here")

    monkeypatch.setattr(Path, "symlink_to", no_symlinks)
    (tmp_path / "run-2").mkdir()
    update_latest(tmp_path, "run-2")
    latest = tmp_path / "latest"
    assert not latest.is_symlink()
    assert latest.read_text(encoding="utf-8") == "run-2\n"
    (tmp_path / "run-2" / "results.json").write_text("{}", encoding="utf-8")
    assert find_results("latest", tmp_path) == tmp_path / "run-2" / "results.json"
    assert find_results(str(tmp_path / "run-1"), tmp_path) == tmp_path / "run-1" / "results.json"


def test_reporters_import_only_results() -> None:
    allowed = {"harness.results", "harness.reporters", "harness.registry", "harness.errors"}
    for name in ("__init__", "json_report", "junit", "sarif", "markdown"):
        source = (Path(reporters.__file__).parent / f"{name}.py").read_text(encoding="utf-8")
        imported = {
            line.split()[1]
            for line in source.splitlines()
            if line.startswith(("from harness", "import harness"))
        }
        assert imported <= allowed, (name, imported)
