"""Every workflow is valid GitHub Actions YAML (offline schema), pins every action by commit SHA and
asks for the least privilege it needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.iac import check_workflow, is_pinned, iter_uses, load_workflow
from tests.iac.conftest import WORKFLOWS

FILES = sorted(WORKFLOWS.glob("*.yml"))
AWS_ACTION = "aws-actions/configure-aws-credentials@"


def _jobs(path: Path) -> dict[str, Any]:
    jobs: dict[str, Any] = load_workflow(path)["jobs"]
    return jobs


def test_the_six_workflows_exist() -> None:
    assert {p.stem for p in FILES} == {"pr", "infra", "release", "nightly", "load", "preview"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_workflow_is_valid_and_pinned(path: Path) -> None:
    assert [str(issue) for issue in check_workflow(path)] == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_top_level_permissions_are_empty_and_jobs_declare_their_own(path: Path) -> None:
    workflow = load_workflow(path)
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} inherits permissions"
        assert "write-all" not in str(job["permissions"])


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_aws_is_reached_through_oidc_only(path: Path) -> None:
    text = path.read_text()
    assert "AWS_ACCESS_KEY_ID" not in text and "aws-secret-access-key" not in text
    for name, job in _jobs(path).items():
        uses_aws = any(str(step.get("uses", "")).startswith(AWS_ACTION) for step in job.get("steps", []))
        asks_token = job.get("permissions", {}).get("id-token") == "write"
        assert uses_aws == asks_token, f"{path.name}: job {name}"


def test_no_workflow_runs_untrusted_code_with_secrets() -> None:
    for path in FILES:
        assert "pull_request_target" not in load_workflow(path)["on"]


def test_pr_workflow_runs_the_gates() -> None:
    text = (WORKFLOWS / "pr.yml").read_text()
    for needle in (
        "lint",
        "type",
        "unit",
        "functional",
        "tox -e policy",
        "semgrep",
        "pip-audit",
        "scan-type: fs",
        "scan-type: config",
        "upload-sarif",
        "summary.md",
    ):
        assert needle in text, needle


def test_apply_runs_only_on_main_behind_protected_environments() -> None:
    jobs = _jobs(WORKFLOWS / "infra.yml")
    assert jobs["apply-production"]["environment"] == "production"
    assert jobs["apply-production"]["needs"] == "apply-staging"
    assert all(
        job["if"] == "github.event_name == 'push'" for name, job in jobs.items() if name.startswith("apply")
    )


@pytest.mark.parametrize(
    ("uses", "pinned"),
    [
        ("actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683", True),
        ("actions/checkout@v4", False),
        ("github/codeql-action/upload-sarif@48ab28a6f5dbc2a99bf1e0131198dd8f1df78169", True),
        ("actions/checkout@11bd719", False),
        ("./.github/actions/setup", True),
        ("docker://alpine@sha256:" + "0" * 64, True),
        ("docker://alpine:3", False),
    ],
)
def test_pin_rule(uses: str, pinned: bool) -> None:
    assert is_pinned(uses) is pinned


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("on: push\njobs:\n  a:\n    steps:\n      - run: x\n", "'runs-on' is a required property"),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: x\n        uses: a/b@v1\n",
            "steps/0",
        ),
        (
            "on: push\npermissions:\n  contents: admin\n"
            "jobs:\n  a:\n    runs-on: x\n    steps:\n      - run: x\n",
            "permissions",
        ),
        ("on: pushed\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: x\n", "/on"),
        ("on: push\njobs:\n  a:\n    runs_on: x\n    steps:\n      - run: x\n", "/jobs/a"),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n",
            "not pinned",
        ),
    ],
    ids=["no-runs-on", "run-and-uses", "bad-permission", "bad-event", "typo-key", "unpinned"],
)
def test_broken_workflows_are_reported(tmp_path: Path, body: str, fragment: str) -> None:
    path = tmp_path / "w.yml"
    path.write_text(body)
    assert any(fragment in str(issue) for issue in check_workflow(path)), [
        str(i) for i in check_workflow(path)
    ]


def test_on_is_read_as_a_key_not_a_boolean(tmp_path: Path) -> None:
    path = tmp_path / "w.yml"
    path.write_text("on: push\njobs: {}\n")
    assert load_workflow(path)["on"] == "push"


def test_iter_uses_sees_steps_and_reusable_jobs() -> None:
    workflow = {
        "jobs": {
            "a": {"uses": "org/repo/.github/workflows/x.yml@v1"},
            "b": {"steps": [{"uses": "a/b@c"}, {"run": "x"}]},
        }
    }
    assert [uses for _, uses in iter_uses(workflow)] == ["org/repo/.github/workflows/x.yml@v1", "a/b@c"]
