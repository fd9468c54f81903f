"""EU-GHA-001/002 over workflow files: each ``uses:`` is judged on its own and located at its line;
a schema violation points at the field that has it."""

from __future__ import annotations

from pathlib import Path

from harness.stages.policy.inputs import discover
from harness.stages.policy.model import Finding
from harness.stages.policy.options import BUILTIN_POLICIES
from harness.stages.policy.rules import load_rules
from tests.harness.stages.policy.conftest import CASES

RULES = {r.id: r for r in load_rules([BUILTIN_POLICIES / "rules"]) if r.id.startswith("EU-GHA-")}


def findings(root: Path, policy_id: str = "EU-GHA-001") -> list[Finding]:
    sources = discover(root, root / "terraform", root / "manifests", parse_terraform=False)
    assert not sources.problems, sources.problems
    return RULES[policy_id].evaluate(sources.inputs)


def write(root: Path, name: str, text: str) -> Path:
    path = root / ".github" / "workflows" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_each_use_is_judged_at_its_line() -> None:
    """The planted tag fails at the `uses:` line of its step; the pinned checkout beside it passes."""
    results = {f.location: f for f in findings(CASES / "EU-GHA-001" / "fail" / "tag")}
    assert sorted(results) == [".github/workflows/ci.yml:11", ".github/workflows/ci.yml:13"]
    assert results[".github/workflows/ci.yml:11"].passed
    failed = results[".github/workflows/ci.yml:13"]
    assert not failed.passed and failed.message.startswith("'actions/setup-python@v5' is not pinned")
    assert failed.resource == ".github/workflows/ci.yml:jobs/test/actions/setup-python"
    assert failed.proven_on.startswith("harness policies ")


def test_short_sha_and_same_named_steps(tmp_path: Path) -> None:
    """A 7-hex abbreviation is not a pin (GitHub resolves it like any ref); two steps of the same
    name are located by position, not sent to the first one."""
    write(tmp_path, "ci.yml", "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
          "      - name: get\n        uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n"
          "      - name: get\n        uses: actions/checkout@11bd719\n")
    (result,) = [f for f in findings(tmp_path) if not f.passed]
    assert result.location == ".github/workflows/ci.yml:9"


def test_resource_survives_inserted_steps_and_new_pins(tmp_path: Path) -> None:
    """Waivers and the baseline match the fingerprint: a step added above or a new tag must not
    turn an accepted finding into a new one."""
    head = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
    write(tmp_path, "ci.yml", head + "      - uses: actions/cache@v3\n")
    before = [f.fingerprint for f in findings(tmp_path)]
    write(tmp_path, "ci.yml", head + "      - run: echo\n      - uses: actions/cache@v4\n")
    assert [f.fingerprint for f in findings(tmp_path)] == before


def test_unreadable_workflow_is_a_problem_naming_the_file(tmp_path: Path) -> None:
    write(tmp_path, "bad.yml", "on: push\njobs: [\n")
    sources = discover(tmp_path, tmp_path / "terraform", tmp_path / "manifests", parse_terraform=False)
    assert [where for where, _ in sources.problems] == [".github/workflows/bad.yml"]
    assert sources.problems[0][1].startswith(".github/workflows/bad.yml: invalid YAML")
    assert sources.inputs.workflows == []


def test_schema_violation_points_at_the_field() -> None:
    """The misspelt `timeout:` key is reported at its own line, with jsonschema's message."""
    (result,) = findings(CASES / "EU-GHA-002" / "fail" / "unknown-key", "EU-GHA-002")
    assert not result.passed and result.location == ".github/workflows/ci.yml:10"
    assert result.message.startswith("/jobs/test/timeout: Additional properties are not allowed")
    assert result.resource == ".github/workflows/ci.yml"


def test_this_repos_workflows_are_valid_and_pinned() -> None:
    """The repo's own workflows, through the policy stage's discovery (`tests` excluded as by default)."""
    root = Path(__file__).resolve().parents[4]
    sources = discover(root, root / "terraform", root / "manifests", ("tests",), parse_terraform=False)
    results = [f for rule in RULES.values() for f in rule.evaluate(sources.inputs)]
    assert len(sources.inputs.workflows) == 6 and len(results) == 6 + 64
    assert [f.message for f in results if not f.passed] == []
