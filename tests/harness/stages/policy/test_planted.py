"""The planted-flaw repo (tests/fixtures/planted): every planted flaw is found, with file:line,
and nothing else fails."""

from __future__ import annotations

from typing import Any

import yaml

from harness.results import Result, Status
from harness.stages.policy.engine import Collected
from tests.harness.stages.policy.conftest import PLANTED


def expected() -> list[dict[str, Any]]:
    flaws: list[dict[str, Any]] = yaml.safe_load((PLANTED / "EXPECTED.yaml").read_text())["flaws"]
    return flaws


def failed(results: list[Result]) -> list[Result]:
    return [r for r in results if r.status is Status.FAILED]


def test_every_planted_flaw_is_found_with_file_and_line(planted_run: tuple[list[Result], Collected]) -> None:
    results, _ = planted_run
    found = {(r.id, (r.location or "").rsplit(":", 1)[0]) for r in failed(results)}
    missing = [(flaw["flaw"], rid) for flaw in expected() for rid in flaw["ids"]
               if (rid, flaw["file"]) not in found]
    assert not missing
    assert all((r.location or "").rsplit(":", 1)[-1].isdigit() for r in failed(results))


def test_nothing_else_fails(planted_run: tuple[list[Result], Collected]) -> None:
    results, _ = planted_run
    allowed = {(rid, flaw["file"]) for flaw in expected() for rid in flaw["ids"]}
    unexpected = [(r.id, r.location, r.message) for r in failed(results)
                  if (r.id, (r.location or "").rsplit(":", 1)[0]) not in allowed]
    assert not unexpected
    assert not [r for r in results if r.status is Status.ERROR]


def test_waived_results_are_reported_not_hidden(planted_run: tuple[list[Result], Collected]) -> None:
    results, _ = planted_run
    waived = [r for r in results if r.status is Status.WAIVED]
    assert {r.id for r in waived} == {"CKV_AWS_109", "CKV_AWS_111", "CKV_AWS_144", "CKV_AWS_356"}
    assert all(r.waiver and r.waiver["approved_by"] == "security-team" for r in waived)


def test_results_carry_controls_and_severity(planted_run: tuple[list[Result], Collected]) -> None:
    results, _ = planted_run
    by_id = {r.id: r for r in results}
    assert by_id["EU-K8S-001"].controls == ["EU-C-K8S-01"]
    assert by_id["CKV_AWS_53"].controls == ["EU-C-DATA-01"]
    assert by_id["EU-K8S-040"].severity.value == "critical"
    assert by_id["EU-K8S-013"].remediation
    assert all(r.controls for r in results if r.status is not Status.SKIPPED)
