from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from harness.reporters.oscal import OscalReporter, assessment_results, nist_control_id, write_oscal
from tests.harness.reporters.sample import SampleRun, assembled


@pytest.mark.parametrize(
    ("ref", "expected"), [("AC-3", "ac-3"), ("AC-2(1)", "ac-2.1"), ("SC-7 (12)", "sc-7.12")]
)
def test_nist_ids_use_the_oscal_catalog_form(ref: str, expected: str) -> None:
    assert nist_control_id(ref) == expected


def _document(run: SampleRun) -> dict[str, Any]:
    doc = assessment_results(run.record)
    return doc["assessment-results"]  # type: ignore[no-any-return]


def test_document_has_the_required_oscal_structure(sample_run: SampleRun) -> None:
    doc = _document(sample_run)
    assert {"uuid", "metadata", "import-ap", "results"} <= doc.keys()
    assert {"title", "last-modified", "version", "oscal-version"} <= doc["metadata"].keys()
    (result,) = doc["results"]
    assert {"uuid", "title", "description", "start", "reviewed-controls"} <= result.keys()
    assert result["start"].endswith("Z")
    selected = result["reviewed-controls"]["control-selections"][0]["include-controls"]
    assert {"control-id": "ac-3"} in selected
    observations = {o["uuid"]: o for o in result["observations"]}
    assert len(observations) == len(sample_run.record.results)
    for observation in observations.values():
        assert {"uuid", "description", "methods", "collected"} <= observation.keys()
    for finding in result["findings"]:
        assert {"uuid", "title", "description", "target"} <= finding.keys()
        assert finding["target"]["status"]["state"] in ("satisfied", "not-satisfied")
        for related in finding.get("related-observations", []):
            assert related["observation-uuid"] in observations
    everything = [doc["uuid"], result["uuid"], *observations, *(f["uuid"] for f in result["findings"])]
    assert len(set(everything)) == len(everything)
    assert all(uuid.UUID(u).version == 5 for u in everything)


def test_only_passed_controls_are_satisfied(sample_run: SampleRun) -> None:
    findings = {f["title"].split(":")[0]: f for f in _document(sample_run)["results"][0]["findings"]}
    states = {cid: f["target"]["status"]["state"] for cid, f in findings.items()}
    assert states["ENC-01"] == "satisfied"
    assert states["SUP-01"] == "not-satisfied"  # not evidenced
    assert states["DR-01"] == "not-satisfied"  # waived
    assert states["REL-01"] == "not-satisfied"  # an errored check
    assert findings["ENC-01"]["target"]["target-id"] == "sc-28_obj"


def test_the_verdict_is_the_records(sample_run: SampleRun) -> None:
    (result,) = _document(sample_run)["results"]
    props = {p["name"]: p["value"] for p in result["props"]}
    assert props["verdict"] == sample_run.record.verdict.status.value.lower().replace(" ", "-")
    assert props["exit-code"] == str(sample_run.record.exit_code)
    assert props["count-warned"] == "0"


def test_written_file_is_json_and_stable(sample_run: SampleRun) -> None:
    first = write_oscal(sample_run.record, sample_run.run_dir).read_text(encoding="utf-8")
    second = write_oscal(sample_run.record, sample_run.run_dir).read_text(encoding="utf-8")
    assert first == second
    assert json.loads(first)["assessment-results"]["metadata"]["oscal-version"] == "1.1.2"


def test_oscal_reporter_slot(sample_run: SampleRun) -> None:
    path = OscalReporter().write(sample_run.record, sample_run.run_dir)
    findings = json.loads(path.read_text(encoding="utf-8"))["assessment-results"]["results"][0]["findings"]
    assert len(findings) == len(sample_run.record.controls)
    without = OscalReporter().write(assembled(sample_run.record, catalog=False), sample_run.run_dir)
    assert (
        "findings" not in json.loads(without.read_text(encoding="utf-8"))["assessment-results"]["results"][0]
    )
