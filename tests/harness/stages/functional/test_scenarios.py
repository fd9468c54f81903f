"""Every scenario of scenarios/functional as a pytest item, against ``harness_environment``.

Off unless a target is named (standing one up is not a unit test)::

    pytest tests/harness/stages/functional/test_scenarios.py --harness-target local -n 2

Under pytest-xdist each worker stands up its own environment (free ports, own users per
scenario), so scenarios and even fault drills on different workers cannot interfere.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.app_profile import load_app_profile
from harness.config import HarnessConfig
from harness.stages.functional import RunnerOptions, ScenarioRunner, load_scenario
from harness.stages.functional.stage import write_evidence

ROOT = Path(__file__).resolve().parents[4]
PATHS = sorted((ROOT / "scenarios" / "functional").glob("*.yaml"))
pytestmark = pytest.mark.services


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_scenario(path: Path, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if not request.config.getoption("harness_target", None):
        pytest.skip("scenarios run as tests only with --harness-target (e.g. local)")
    config: HarnessConfig = request.getfixturevalue("harness_config")
    scenario = load_scenario(path, ROOT)
    if config.profile not in scenario.profiles:
        pytest.skip(f"not in profile {config.profile!r}")
    env = request.getfixturevalue("harness_environment")
    app = load_app_profile(config.paths.scenarios)
    options = RunnerOptions.from_config(config.stage_options("functional"), app)
    options.evidence_dir = str(tmp_path)
    outcome = ScenarioRunner(env, options).run(scenario)
    evidence = write_evidence(scenario, outcome, tmp_path)
    if outcome.status == "skipped":
        pytest.skip(outcome.message)
    assert outcome.status == "passed", f"{outcome.message} (evidence: {evidence})"
