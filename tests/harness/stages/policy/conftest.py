"""Shared fixtures of the policy stage tests: case folders and one session-wide checkov run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.results import Result
from harness.stages.policy import PolicyOptions, run_policy
from harness.stages.policy.checkov_run import Staged, run_checkov, to_findings
from harness.stages.policy.engine import CUSTOM_CHECKS, Collected
from harness.stages.policy.model import Finding
from harness.stages.policy.options import BUILTIN_POLICIES

CASES = Path(__file__).parent / "cases"
CHECKOV_POLICIES = (
    "EU-K8S-001",
    "EU-K8S-002",
    "EU-K8S-003",
    "EU-K8S-004",
    "EU-AWS-030",
    "EU-AWS-031",
    "EU-AWS-032",
)


def case_roots(policy_id: str, verdict: str) -> list[Path]:
    """The mini repos of one policy's passing or failing case (one, or one per sub-folder)."""
    base = CASES / policy_id / verdict
    if (base / "manifests").is_dir() or (base / "terraform").is_dir():
        return [base]
    return sorted(p for p in base.iterdir() if p.is_dir())


@pytest.fixture(scope="session")
def checkov_case_findings() -> Iterator[dict[str, list[Finding]]]:
    """checkov run once over every case folder, limited to our custom checks: ``{case path: findings}``
    where the key is e.g. ``EU-AWS-030/fail/one-node``."""
    dirs = [CASES / policy_id for policy_id in CHECKOV_POLICIES]
    # no `checks=` filter: checkov's kubernetes runner filters documents by the requested ids before it
    # loads external checks, and would then drop every Rollout
    reports = run_checkov(CASES, [BUILTIN_POLICIES / CUSTOM_CHECKS], frameworks=("terraform", "kubernetes"))
    findings, errors = to_findings(reports, Staged(CASES))
    assert not errors, errors
    by_case: dict[str, list[Finding]] = {}
    for finding in (f for f in findings if f.id in CHECKOV_POLICIES):
        rel = finding.location.split("/manifests/")[0].split("/terraform/")[0]
        by_case.setdefault(rel, []).append(finding)
    assert dirs
    yield by_case


PLANTED = Path(__file__).resolve().parents[3] / "fixtures" / "planted"


@pytest.fixture(scope="session")
def planted_options() -> PolicyOptions:
    return PolicyOptions.for_root(PLANTED)


@pytest.fixture(scope="session")
def planted_run(planted_options: PolicyOptions) -> tuple[list[Result], Collected]:
    """The whole policy stage over the planted-flaw repo, once per session."""
    return run_policy(planted_options)


FIXTURES = PLANTED.parent
ADOPT = FIXTURES / "adopt"
CONVENTIONAL = FIXTURES / "conventional"
OUTSIDE = FIXTURES / "outside"


def marker_line(path: Path, marker: str, nth: int = 0) -> int:
    """The 1-based line of the ``nth`` line of ``path`` that contains ``marker``."""
    lines = [n for n, text in enumerate(path.read_text().splitlines(), start=1) if marker in text]
    return lines[nth]


def _run_with_config(root: Path) -> tuple[list[Result], Collected]:
    from harness.config import HarnessConfig

    return run_policy(PolicyOptions.from_config(HarnessConfig.discover(root)))


@pytest.fixture(scope="session")
def adopt_run() -> tuple[list[Result], Collected]:
    """The stage over tests/fixtures/adopt (harness.toml with [paths] and [policy] exclude)."""
    return _run_with_config(ADOPT)


@pytest.fixture(scope="session")
def conventional_run() -> tuple[list[Result], Collected]:
    """The stage over tests/fixtures/conventional (no harness.toml)."""
    return _run_with_config(CONVENTIONAL)
