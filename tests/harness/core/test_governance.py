"""Waived means governed; a tool summary is not evidence (issue 12.3/12.4), through the engine."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from harness.results import Result, Status
from harness.waivers import govern, governance_problems
from tests.harness.core.conftest import StageRegistrar
from tests.harness.core.test_cli import run_cli

TODAY = dt.date(2026, 12, 5)
GOVERNED = {"id": "CKV_AWS_18", "resource": "*", "reason": "accepted for the pilot", "owner": "platform",
            "approved_by": "security-lead", "expires": "2027-01-31"}


@pytest.mark.parametrize(("waiver", "problems"), [
    (GOVERNED, []),
    ({**GOVERNED, "approved_by": ""}, ["no approved_by"]),
    ({k: v for k, v in GOVERNED.items() if k not in ("owner", "expires")}, ["no owner", "no expires"]),
    ({**GOVERNED, "expires": "2026-12-04"}, ["expired on 2026-12-04"]),
    ({**GOVERNED, "expires": "soon"}, ["expiry 'soon' is not a date"]),
    (None, ["no owner", "no approved_by", "no reason", "no expires"]),
])
def test_governance_table(waiver: dict[str, str] | None, problems: list[str]) -> None:
    assert governance_problems(waiver, TODAY) == problems


def test_an_ungoverned_waived_result_counts_as_failed() -> None:
    ok = Result("A", "policy", "a", Status.WAIVED, waiver=GOVERNED)
    bad = Result("B", "dast", "b", Status.WAIVED, message="reported", waiver={"reason": "WARN", "owner": "x"})
    governed = govern([ok, bad], TODAY)
    assert [r.status for r in governed] == [Status.WAIVED, Status.FAILED]
    assert bad.message.startswith("waiver not governed (no approved_by, no expires); counted as failed")


def test_the_engine_fails_a_run_that_waives_without_governance(
    project: Path, capsys: pytest.CaptureFixture[str], use_stages: StageRegistrar
) -> None:
    """The old behaviour: a WARN rule's "waiver" without owner or expiry made a result waived."""
    use_stages(policy="UngovernedWaiverStage")
    code, out, _ = run_cli(capsys, "verify", "--stages", "policy", "--plain")
    assert code == 1, out
    data = json.loads((project / "reports" / "latest" / "results.json").read_text(encoding="utf-8"))
    assert [r["status"] for r in data["results"]] == ["passed", "failed"]
    assert data["verdict"]["status"] == "FAILED"
    # governed as each result arrives: the stage's recorded status agrees with its results
    assert [(s["name"], s["status"]) for s in data["stages"]] == [("policy", "failed")]


def test_a_run_with_only_a_tool_summary_verified_nothing(
    project: Path, capsys: pytest.CaptureFixture[str], use_stages: StageRegistrar
) -> None:
    use_stages(dast="SummaryOnlyStage")
    code, out, _ = run_cli(capsys, "verify", "--stages", "dast", "--plain")
    assert code == 2, out
    assert "NOTHING VERIFIED (exit 2): 1 tool summaries (not evidence)" in out
    run = project / "reports" / "latest"
    data = json.loads((run / "results.json").read_text(encoding="utf-8"))
    assert data["counts"]["passed"] == 0 and data["counts"]["summaries"] == 1
    assert data["results"][0]["kind"] == "summary"
    summary = (run / "summary.md").read_text(encoding="utf-8")
    assert "NOTHING VERIFIED" in summary and "### Tool summaries (1, not evidence)" in summary
    junit = (run / "junit.xml").read_text(encoding="utf-8")
    assert 'type="summary"' in junit and "NOTHING VERIFIED" in junit


def test_the_record_carries_the_built_in_catalog_and_a_policy_run_only_its_tools(
    project: Path, capsys: pytest.CaptureFixture[str], use_stages: StageRegistrar,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 16: no "No control catalog given" when results carry built-in control ids; a policy-only
    run's provenance lists no locust, moto or playwright."""
    builtin = Path(__file__).resolve().parents[3] / "harness" / "policies"
    monkeypatch.setattr("harness.catalog.BUILTIN_POLICIES", builtin)
    use_stages(policy="PassingStage")
    code, out, _ = run_cli(capsys, "verify", "--stages", "policy", "--plain")
    assert code == 0, out  # passed, with gaps: the other stages' controls are not evidenced
    run = project / "reports" / "latest"
    data = json.loads((run / "results.json").read_text(encoding="utf-8"))
    assert data["catalog"].endswith("policies/controls.yaml") and len(data["controls"]) > 20
    assert data["verdict"]["status"] == "PASSED WITH GAPS"
    assert set(data["provenance"]["tool_versions"]) <= {"python", "jsonschema", "checkov"}
    html = (run / "index.html").read_text(encoding="utf-8")
    assert "No control catalog given" not in html and 'data-verdict="PASSED WITH GAPS"' in html
    assert "No control catalog" not in (run / "summary.md").read_text(encoding="utf-8")
    assert "harness: PASSED WITH GAPS (exit 0)" in out  # the terminal shows the same verdict


def test_console_lines_name_the_location_once() -> None:
    from harness.output import result_line

    result = Result("CKV_K8S_8", "policy", "probes", Status.FAILED, location="manifests/api.yaml:12",
                    message="manifests/api.yaml:12: Deployment/api has no liveness probe")
    expected = "FAILED CKV_K8S_8 manifests/api.yaml:12: Deployment/api has no liveness probe"
    assert result_line(result) == expected
    assert result_line(result).count("manifests/api.yaml") == 1


# The ids of the tool summaries the stages write (load: one per scenario; dast: one per tool).
SUMMARY_IDS = ["LOAD-steady-generator", "LOAD-spike-generator", "DAST-schemathesis", "DAST-zap",
               "DAST-harness-checks"]


def test_the_catalog_names_no_tool_summary_as_evidence() -> None:
    """controls.yaml listed LOAD-*-generator for EU-C-PERF-01 although the generator is a summary."""
    from harness.catalog import load_catalog

    catalog = load_catalog(Path(__file__).resolve().parents[3] / "harness" / "policies" / "controls.yaml")
    named = [(c.id, rid) for c in catalog.controls for rid in SUMMARY_IDS if c.evidenced_by(rid)]
    assert named == []
