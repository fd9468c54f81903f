from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness import stages
from harness.config import HarnessConfig
from harness.results import Provenance, Result, RunRecord, Severity, StageSummary, Status
from tests.harness.core.fakes import FakeTarget

FAKES = "tests.harness.core.fakes"
StageRegistrar = Callable[..., None]


@pytest.fixture(autouse=True)
def _fresh_fakes(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    FakeTarget.ups = FakeTarget.downs = 0
    # Engine tests judge fake stages: the harness's own control catalog (whose controls fake stages
    # never evidence) would make every verdict "with gaps". Tests of the catalog set their own.
    monkeypatch.setattr("harness.catalog.BUILTIN_POLICIES", tmp_path_factory.mktemp("no-builtin-policies"))
    monkeypatch.delenv("CI", raising=False)
    yield


@pytest.fixture
def use_stages(monkeypatch: pytest.MonkeyPatch) -> StageRegistrar:
    """``use_stages(policy="FailingStage", functional="EnvStage")``: fake stages at test time."""

    def register(**classes: str) -> None:
        for name, cls in classes.items():
            monkeypatch.setitem(stages.STAGES, name, f"{FAKES}:{cls}")

    return register


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty checkout with a harness.toml, as the current directory."""
    (tmp_path / "harness.toml").write_text('target = "local"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def config(project: Path) -> HarnessConfig:
    return HarnessConfig.discover(project)


def make_record(
    *, results: list[Result] | None = None, stages_: list[StageSummary] | None = None
) -> RunRecord:
    """A fixed record with one result of every status (deterministic: for snapshots)."""
    provenance = Provenance(
        git_sha="0123456789abcdef0123456789abcdef01234567",
        target="local",
        profile="pr",
        harness_version="0.1.0",
        tool_versions={"python": "3.11.7"},
        started_at="2026-01-02T03:04:05Z",
        finished_at="2026-01-02T03:05:06Z",
        host="ci-box",
        user="ci",
        root="/src/app",
    )
    default_results = [
        Result(
            "CKV_AWS_18",
            "policy",
            "S3 access logging",
            Status.PASSED,
            Severity.HIGH,
            controls=["EU-LOG-001"],
            location="terraform/s3.tf:12",
            duration_s=0.5,
        ),
        Result(
            "CKV_AWS_21",
            "policy",
            "S3 versioning",
            Status.FAILED,
            Severity.HIGH,
            controls=["EU-DR-002"],
            location="terraform/s3.tf:3",
            message="bucket uploads has no versioning",
            remediation="set versioning { enabled = true }",
        ),
        Result(
            "EU-K8S-007",
            "policy",
            "PodDisruptionBudget",
            Status.WAIVED,
            Severity.MEDIUM,
            location="manifests/base/api.yaml:1",
            message="waived",
            waiver={"reason": "single node dev", "owner": "sre", "expires": "2027-01-01"},
        ),
        Result(
            "SCN-upload-png",
            "functional",
            "upload a PNG",
            Status.ERROR,
            Severity.HIGH,
            location="http://127.0.0.1:8000/api/uploads",
            message="connection refused",
        ),
        Result(
            "SCN-browser",
            "functional",
            "page upload",
            Status.SKIPPED,
            Severity.LOW,
            message="Chromium is not installed",
        ),
    ]
    default_stages = [
        StageSummary("policy", Status.FAILED, "1 passed, 1 failed, 1 waived", 1.25),
        StageSummary("functional", Status.ERROR, "1 error, 1 skipped", 2.5),
        StageSummary("dast", Status.SKIPPED, "stage 'dast' is not built yet", 0.0),
    ]
    return RunRecord(
        "20260102T030405Z-abcdef",
        provenance,
        stages_ if stages_ is not None else default_stages,
        results if results is not None else default_results,
    )


@pytest.fixture
def record() -> RunRecord:
    return make_record()
