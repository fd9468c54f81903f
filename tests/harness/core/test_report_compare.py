"""`harness report --compare`, `harness verify --compare`, and the oscal + bundle reporters in every run."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from harness.cli import main
from harness.config import HarnessConfig
from harness.output import ReportWriter
from harness.reporters import REPORTERS, report_order
from harness.reporters.bundle import verify_bundle
from harness.reporters.json_report import JsonReporter
from harness.results import Result, RunRecord, Severity, StageSummary, Status
from tests.harness.core.conftest import StageRegistrar, make_record
from tests.harness.core.fakes import FakeTarget

OSCAL_FILE = "oscal-assessment-results.json"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _passed(result_id: str, location: str) -> Result:
    return Result(result_id, "policy", f"check {result_id}", Status.PASSED, Severity.HIGH, location=location)


def _store(reports: Path, run_id: str, results: list[Result]) -> RunRecord:
    """A run directory with only results.json, as `harness report` finds it."""
    worst = Status.FAILED if any(r.status is Status.FAILED for r in results) else Status.PASSED
    record = make_record(results=results, stages_=[StageSummary("policy", worst, "", 0.1)])
    record.run_id = run_id
    JsonReporter().write(record, reports / run_id)
    return record


@pytest.fixture
def two_runs(project: Path) -> Path:
    """reports/base (all passed) and reports/head (CKV_AWS_21 now fails: the planted regression)."""
    reports = project / "reports"
    logging = _passed("CKV_AWS_18", "terraform/s3.tf:12")
    _store(reports, "base", [logging, _passed("CKV_AWS_21", "terraform/s3.tf:3")])
    regressed = Result("CKV_AWS_21", "policy", "S3 versioning", Status.FAILED, Severity.HIGH,
                       location="terraform/s3.tf:3", message="bucket uploads has no versioning")
    _store(reports, "head", [logging, regressed])
    return reports


# -- harness report --compare ------------------------------------------------------------------------
def test_report_compare_finds_the_planted_regression(
    two_runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "report", "head", "--compare", "base")
    assert code == 1, err
    assert "harness: error" not in err
    # stdout is the Markdown diff alone (paste-able as a PR comment); the written files go to stderr
    assert out.startswith("### Compared with run `base`")
    assert "**Regression:**" in out
    new_failures = out.split("#### New failures and errors", 1)[1]
    assert "`CKV_AWS_21`" in new_failures and "terraform/s3.tf:3" in new_failures
    assert "`CKV_AWS_18`" not in new_failures  # unchanged results are not listed
    head = two_runs / "head"
    assert (head / "comparison.md").read_text(encoding="utf-8") == out
    assert "#### New failures and errors" in (head / "summary.md").read_text(encoding="utf-8")
    page = (head / "index.html").read_text(encoding="utf-8")
    assert '<section id="comparison">' in page and "CKV_AWS_21" in page
    assert str(head / "comparison.md") in err.splitlines()


def test_report_compare_without_regression_exits_0_and_does_not_stack(
    two_runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the other way round: CKV_AWS_21 is fixed
    for _ in range(2):
        code, out, err = run_cli(capsys, "report", "base", "--compare", "head")
        assert (code, [line for line in err.splitlines() if "error" in line]) == (0, [])
    assert "**Regression:**" not in out
    assert "#### Fixed" in out and "`CKV_AWS_21`" in out.split("#### Fixed", 1)[1]
    summary = (two_runs / "base" / "summary.md").read_text(encoding="utf-8")
    assert summary.count("### Compared with run `head`") == 1


def test_report_compare_accepts_a_directory_a_results_json_and_latest(
    two_runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "report", "head", "--compare", str(two_runs / "base"))[0] == 1
    assert run_cli(capsys, "report", "head", "--compare", str(two_runs / "base" / "results.json"))[0] == 1
    (two_runs / "latest").write_text("base\n", encoding="utf-8")  # the pointer file used without symlinks
    code, out, _ = run_cli(capsys, "report", "head", "--compare", "latest")
    assert code == 1
    assert out.startswith("### Compared with run `base`")


@pytest.mark.parametrize(
    "argv", [["report", "head", "--compare", "nope"], ["report", "nope", "--compare", "base"]]
)
def test_report_unknown_run_is_one_line_exit_2(
    two_runs: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("harness: error: ")
    assert "'nope'" in err and "Traceback" not in err
    assert not (two_runs / "head" / "comparison.md").exists()


def test_report_rerenders_latest_into_the_run_directory(
    two_runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (two_runs / "latest").symlink_to("head", target_is_directory=True)
    code, out, err = run_cli(capsys, "report")
    assert (code, err) == (0, "")
    # bundle and oscal are re-rendered too, and the bundle is named after the run, not after `latest`
    assert (two_runs / "head" / OSCAL_FILE).is_file()
    assert not (two_runs / "latest.tar.gz").exists()
    bundle = two_runs / "head.tar.gz"
    assert str(bundle) in out.splitlines()
    assert verify_bundle(bundle).ok


# -- harness verify: oscal + bundle, --compare, --no-bundle --------------------------------------------
def _latest_run(project: Path) -> Path:
    return (project / "reports" / "latest").resolve()


def test_verify_writes_oscal_and_a_verifiable_bundle(
    project: Path, capsys: pytest.CaptureFixture[str], use_stages: StageRegistrar
) -> None:
    use_stages(policy="FailingStage")
    code, _, err = run_cli(capsys, "verify", "--stages", "policy")
    assert (code, err) == (1, "")
    run_dir = _latest_run(project)
    oscal = json.loads((run_dir / OSCAL_FILE).read_text(encoding="utf-8"))
    observations = oscal["assessment-results"]["results"][0]["observations"]
    assert {o["title"].split(":")[0] for o in observations} == {"CKV_AWS_18", "CKV_AWS_21"}
    bundle = project / "reports" / f"{run_dir.name}.tar.gz"
    check = verify_bundle(bundle)
    assert check.ok, check.describe()
    digest = (project / "reports" / f"{run_dir.name}.tar.gz.sha256").read_text(encoding="utf-8")
    assert digest.endswith(f"  {run_dir.name}.tar.gz\n")
    with tarfile.open(bundle) as tar:
        names = set(tar.getnames())
    for report in ("results.json", "summary.md", "index.html", "junit.xml", OSCAL_FILE):
        assert f"{run_dir.name}/{report}" in names  # the bundle was written after every other report


def test_verify_compare_reports_the_regression_and_bundles_the_comparison(
    project: Path, capsys: pytest.CaptureFixture[str], use_stages: StageRegistrar
) -> None:
    use_stages(policy="PassingStage")
    assert run_cli(capsys, "verify", "--stages", "policy")[0] == 0
    baseline = _latest_run(project).name
    use_stages(policy="FailingStage")
    code, out, err = run_cli(capsys, "verify", "--stages", "policy", "--compare", baseline)
    assert (code, err) == (1, "")
    assert f"### Compared with run `{baseline}`" in out
    assert "`CKV_AWS_21`" in out.split("#### New failures and errors", 1)[1]
    run_dir = _latest_run(project)
    assert run_dir.name != baseline
    assert "#### New failures and errors" in (run_dir / "summary.md").read_text(encoding="utf-8")
    assert '<section id="comparison">' in (run_dir / "index.html").read_text(encoding="utf-8")
    bundle = project / "reports" / f"{run_dir.name}.tar.gz"
    assert verify_bundle(bundle).ok
    with tarfile.open(bundle) as tar:
        extracted = tar.extractfile(f"{run_dir.name}/summary.md")
        assert extracted is not None
        assert b"#### New failures and errors" in extracted.read()  # compared before bundling


def test_verify_compare_with_an_unknown_run_fails_before_anything_runs(
    project: Path, capsys: pytest.CaptureFixture[str], use_stages: StageRegistrar,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_stages(functional="EnvStage")
    monkeypatch.setattr("harness.engine.default_target_factory", lambda config: FakeTarget())
    code, out, err = run_cli(capsys, "verify", "--stages", "functional", "--compare", "20990101T000000Z-typo")
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("harness: error: --compare: no run '20990101T000000Z-typo'")
    assert FakeTarget.ups == 0
    assert not (project / "reports").exists()


def test_verify_no_bundle(
    project: Path, capsys: pytest.CaptureFixture[str], use_stages: StageRegistrar
) -> None:
    use_stages(policy="PassingStage")
    assert run_cli(capsys, "verify", "--stages", "policy", "--no-bundle")[0] == 0
    run_dir = _latest_run(project)
    assert (run_dir / OSCAL_FILE).is_file()
    assert list((project / "reports").glob("*.tar.gz*")) == []


# -- ordering ------------------------------------------------------------------------------------
def test_bundle_is_registered_and_always_written_last(record: RunRecord, config: HarnessConfig) -> None:
    assert list(REPORTERS)[-2:] == ["oscal", "bundle"]
    assert report_order(["bundle", "json", "markdown", "json"]) == ["json", "markdown", "bundle"]
    writer = ReportWriter.for_config(config, ["bundle", "json", "markdown"])
    assert [r.NAME for r in writer.reporters] == ["json", "markdown", "bundle"]
    run_dir = config.paths.reports / record.run_id
    writer.write(record, run_dir)
    assert writer.errors == []
    with tarfile.open(config.paths.reports / f"{record.run_id}.tar.gz") as tar:
        assert f"{record.run_id}/summary.md" in tar.getnames()
