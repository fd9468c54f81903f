"""No finding is lost or merged: every failed checkov record, counted, is one failed (or waived)
result of the stage, in the same file. The observation is checkov itself, run straight on the
fixture repo (plain files) and on ``kubectl kustomize``'s output (rendered overlays)."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import pytest

from harness.results import Result, Status
from harness.stages.policy.checkov_run import FRAMEWORKS, run_checkov
from harness.stages.policy.engine import CUSTOM_CHECKS, Collected
from harness.stages.policy.options import BUILTIN_POLICIES
from tests.harness.stages.policy.conftest import ADOPT, CONVENTIONAL

Run = tuple[list[Result], Collected]
GATED = (Status.FAILED, Status.WAIVED)


def _checkov_failures(folder: Path, frameworks: tuple[str, ...] = FRAMEWORKS) -> list[tuple[str, str]]:
    reports = run_checkov(folder, [BUILTIN_POLICIES / CUSTOM_CHECKS], frameworks=frameworks)
    return [(r.check_id, Path(r.file_abs_path).resolve().relative_to(folder.resolve()).as_posix())
            for report in reports for r in report.failed_checks]


def _stage_failures(results: list[Result], group: str = "") -> list[tuple[str, str]]:
    return [(r.id, (r.location or "").rsplit(":", 1)[0]) for r in results
            if r.status in GATED and (r.proven_on or "").startswith("checkov") and group in r.message]


def test_every_checkov_failure_on_plain_files_is_one_result(adopt_run: Run) -> None:
    expected = Counter(_checkov_failures(ADOPT))
    assert expected and Counter(_stage_failures(adopt_run[0])) == expected


def test_every_checkov_failure_on_a_rendered_overlay_is_one_result(conventional_run: Run,
                                                                    tmp_path: Path) -> None:
    overlay = "deploy/overlays/prod"
    rendered = subprocess.run(["kubectl", "kustomize", str(CONVENTIONAL / overlay)], check=True,
                              capture_output=True, text=True, timeout=120).stdout
    (tmp_path / "rendered.yaml").write_text(rendered)
    expected = Counter(check for check, _ in _checkov_failures(tmp_path, ("kubernetes",)))
    found = Counter(check for check, _ in _stage_failures(conventional_run[0], f"{overlay}:"))
    assert expected and found == expected


def test_each_result_has_its_own_location_and_tool(adopt_run: Run, conventional_run: Run) -> None:
    for results, _ in (adopt_run, conventional_run):
        located = [r for r in results if r.status in GATED]
        assert all((r.location or "").rsplit(":", 1)[-1].isdigit() for r in located)
        assert all(r.proven_on for r in results)


REPO = Path(__file__).resolve().parents[4]


@pytest.mark.slow
def test_this_repo_loses_no_checkov_failure(tmp_path: Path) -> None:
    """This repo, framework by framework: checkov on each input folder as it is, and on each
    overlay as ``kubectl kustomize`` renders it, counted against the stage's checkov results."""
    from harness.config import HarnessConfig
    from harness.stages.policy import PolicyOptions, run_policy

    results, _ = run_policy(PolicyOptions.from_config(HarnessConfig.discover(REPO)))
    expected: Counter[tuple[str, str]] = Counter()
    for folder, frameworks in (("terraform", ("terraform", "secrets")), ("reference_app", ("dockerfile",)),
                               (".github", ("github_actions",))):
        expected += Counter((check, f"{folder}/{path}") for check, path in
                            _checkov_failures(REPO / folder, frameworks))
    prefixes = ("terraform/", "reference_app/Dockerfile", ".github/")
    assert Counter(f for f in _stage_failures(results) if f[1].startswith(prefixes)) == expected
    groups = {r.message.split(":", 1)[0] for r in results if r.message.startswith("manifests/")}
    assert expected and len(groups) == 6  # four overlays, argocd, karpenter
    for index, group in enumerate(sorted(groups)):
        rendered = subprocess.run(["kubectl", "kustomize", str(REPO / group)], check=True,
                                  capture_output=True, text=True, timeout=120).stdout
        (tmp_path / str(index)).mkdir()
        (tmp_path / str(index) / "rendered.yaml").write_text(rendered)
        want = Counter(c for c, _ in _checkov_failures(tmp_path / str(index), ("kubernetes",)))
        got = Counter(c for c, _ in _stage_failures(results, f"{group}:"))
        assert got == want, group
