"""The scenario format: every shipped scenario is valid; mistakes get one readable line."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.catalog import catalog_for
from harness.errors import ConfigError
from harness.stages.functional import load_scenario, load_scenarios, validate_scenario
from harness.stages.functional.scenario import walk_actions

ROOT = Path(__file__).resolve().parents[4]
SHIPPED = ROOT / "scenarios" / "functional"
TYPES = {"png", "jpeg", "webp", "gif", "pdf", "text", "csv", "json"}


def _error(data: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        validate_scenario(data, "scenarios/functional/x.yaml")
    return str(caught.value)


def test_every_shipped_scenario_is_valid_and_named_after_its_file() -> None:
    scenarios = load_scenarios(SHIPPED, root=ROOT)
    assert len(scenarios) >= 20
    assert all(s.result_id == f"SCN-{s.name}" for s in scenarios)


def test_every_control_a_shipped_scenario_names_is_in_the_control_catalog() -> None:
    """A scenario naming an id the catalog does not have evidences nothing (the report lists it as an
    unknown control); the shipped scenarios name the catalog's ids, and the abuse scenarios evidence
    EU-C-RES-03 (one hostile file or client cannot exhaust a component)."""
    catalog, _ = catalog_for(ROOT / "policies")
    known = {c.id for c in catalog.controls}
    scenarios = load_scenarios(ROOT / "scenarios" / "functional", root=ROOT)
    unknown = {s.name: sorted(set(s.controls) - known) for s in scenarios if set(s.controls) - known}
    assert unknown == {}
    assert all(s.controls for s in scenarios)
    abuse = [s for s in scenarios if s.name.startswith("abuse-") and s.name != "abuse-settling-drills"]
    assert abuse and all("EU-C-RES-03" in s.controls for s in abuse)


def test_the_catalog_covers_the_issue() -> None:
    scenarios = {s.name: s for s in load_scenarios(SHIPPED, root=ROOT)}
    categories = Counter(s.category for s in scenarios.values())
    assert {f"happy-{t}" for t in TYPES} <= set(scenarios)
    assert categories["fault"] == 5 and categories["sse"] >= 4 and categories["browser"] == 1
    bad = [s for s in scenarios.values() if s.category == "bad-input"]
    cases = sum(1 for s in bad for step in s.steps if "expect" in step and "status" in step["expect"])
    assert cases >= 25
    assert all(s.exclusive for s in scenarios.values() if s.category == "fault")


def test_bad_input_cases_all_name_their_status_and_error() -> None:
    for scenario in load_scenarios(SHIPPED, root=ROOT):
        if scenario.category != "bad-input":
            continue
        for index, step in enumerate(scenario.steps):
            expect = step.get("expect") or {}
            if expect.get("status", 201) >= 400:
                assert "error" in expect, f"{scenario.name} steps[{index}] names no error body"


def test_wrong_type_names_the_key_path() -> None:
    data = {"name": "x", "steps": [{"upload": {"file": {"type": "png"}}},
                                   {"request": {"method": "GET", "path": "/"}},
                                   {"upload": {"file": {"type": "png"}}, "expect": {"status": "ok"}}]}
    message = _error(data)
    assert message.startswith("scenarios/functional/x.yaml: steps[2].expect.status: ")
    assert "'ok'" in message


def test_unknown_key_lists_the_known_ones() -> None:
    message = _error({"name": "x", "steps": [{"upload": {"file": {"type": "png"}, "fiel": "x"}}]})
    assert message == ("scenarios/functional/x.yaml: steps[0].upload: unknown key 'fiel' (expected one of "
                       "content_type, field, file, filename, stream, user)")


def test_unknown_file_type_lists_the_allowed_ones() -> None:
    message = _error({"name": "x", "steps": [{"upload": {"file": {"type": "bmp"}}}]})
    assert "steps[0].upload.file.type: 'bmp' is not one of png, jpeg" in message


def test_a_step_needs_exactly_one_action() -> None:
    two = _error({"name": "x", "steps": [{"upload": {"file": {"type": "png"}}, "wait": {"of": "u"}}]})
    none = _error({"name": "x", "steps": [{"expect": {"status": 200}}]})
    nested = _error({"name": "x", "steps": [{"repeat": {"times": 2, "steps": [{"as": "y"}]}}]})
    assert "steps[0]: expected exactly one action of upload, request" in two and "got upload, wait" in two
    assert "got none (keys: expect)" in none
    assert "steps[0].repeat.steps[0]: expected exactly one action" in nested


def test_a_repeat_is_either_a_count_or_a_duration() -> None:
    step = [{"upload": {"file": {"type": "png"}}}]
    both = _error({"name": "x", "steps": [{"repeat": {"times": 2, "for_s": 3, "steps": step}}]})
    neither = _error({"name": "x", "steps": [{"repeat": {"concurrency": 2, "steps": step}}]})
    where = "scenarios/functional/x.yaml: steps[0].repeat: expected exactly one of times, for_s, got"
    unpaced = _error({"name": "x", "steps": [{"repeat": {"for_s": 3, "steps": step}}]})
    assert both == f"{where} times, for_s" and neither == f"{where} none"
    assert unpaced == "scenarios/functional/x.yaml: steps[0].repeat: 'every_s' is required with 'for_s'"
    paced = {"for_s": 2.5, "every_s": 1, "steps": step}
    validate_scenario({"name": "x", "steps": [{"repeat": paced}]}, "x.yaml")


def test_missing_required_and_bad_name() -> None:
    assert _error({"name": "x"}) == "scenarios/functional/x.yaml: 'steps' is required"
    assert "name: 'Bad Name' does not match" in _error({"name": "Bad Name", "steps": [{"ready": {}}]})


def test_file_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: invalid YAML"):
        load_scenario(broken)
    renamed = tmp_path / "file-name.yaml"
    renamed.write_text(yaml.safe_dump({"name": "other", "steps": [{"ready": {}}]}))
    with pytest.raises(ConfigError, match=r"name: 'other' must equal the file name 'file-name'"):
        load_scenario(renamed)
    with pytest.raises(ConfigError, match=r"unknown scenario 'nope'"):
        load_scenarios(tmp_path.parent, only={"nope"})


def test_fault_actions_make_a_scenario_exclusive() -> None:
    scenario = load_scenario(SHIPPED / "fault-s3-down.yaml", ROOT)
    assert scenario.exclusive and scenario.needs_control
    assert "action" in walk_actions(scenario.steps)
    assert not load_scenario(SHIPPED / "happy-png.yaml", ROOT).exclusive


def test_alerts_step_is_checked() -> None:
    base = {"name": "x", "steps": [{"alerts": {"fire": ["EasyUploadApiHighErrorRate"], "within_s": 30}}]}
    validate_scenario(base, "x.yaml")
    assert "does not match" in _error({"name": "x", "steps": [{"alerts": {"fire": ["bad name"]}}]})
    assert "unknown key 'fires'" in _error({"name": "x", "steps": [{"alerts": {"fires": ["A"]}}]})
    reason = _error({"name": "x", "steps": [{"alerts": {"cannot_fire": {"A": "short"}}}]})
    assert "steps[0].alerts.cannot_fire.A" in reason


def test_alert_reasons_are_reported_skipped() -> None:
    from harness.stages.functional.stage import alert_not_checked
    from harness.stages.functional.steps_alerts import unreachable_alerts

    steps = [{"repeat": {"times": 1, "steps": [{"alerts": {"cannot_fire": {"Backlog": "needs 100 jobs"}}}]}}]
    assert unreachable_alerts(steps) == {"Backlog": "needs 100 jobs"}
    scenario = load_scenario(SHIPPED / "happy-png.yaml", ROOT)
    result = alert_not_checked(scenario, "Backlog", "needs 100 jobs")
    assert result.status.value == "skipped" and "needs 100 jobs" in result.message
    assert result.controls == ["EU-C-OBS-02"] and result.proven_on
