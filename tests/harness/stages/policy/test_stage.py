"""PolicyStage through the stage contract: config in, results and evidence out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.config import HarnessConfig
from harness.errors import ConfigError
from harness.results import Result, Status
from harness.stages.base import StageContext
from harness.stages.policy import PolicyOptions, PolicyStage
from harness.stages.policy.engine import Collected, prepare
from harness.stages.policy.stage import build_results
from tests.harness.stages.policy.conftest import PLANTED


def test_stage_contract() -> None:
    assert PolicyStage.NAME == "policy"
    assert PolicyStage.NEEDS_ENVIRONMENT is False


def test_options_from_config() -> None:
    section = {"baseline": "policies/baseline.json", "skip_checks": ["CKV_K8S_43"],
               "manual_environments": ["prod"]}
    config = HarnessConfig.from_dict({"policy": section}, root=PLANTED, source="harness.toml")
    options = PolicyOptions.from_config(config)
    assert options.baseline == PLANTED / "policies/baseline.json"
    assert options.skip_checks == ("CKV_K8S_43",)
    assert options.manual_environments == ("prod",)
    assert options.terraform == PLANTED / "terraform"


def test_unknown_option_names_it_at_config_load() -> None:
    with pytest.raises(ConfigError, match=r"^harness.toml: policy: unknown key 'baselin'"):
        HarnessConfig.from_dict({"policy": {"baselin": "x"}}, root=PLANTED, source="harness.toml")


def test_run_writes_evidence_and_links_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          planted_run: tuple[list[Result], Collected]) -> None:
    copies = [Result.from_dict(r.to_dict()) for r in planted_run[0]]  # the session run stays untouched
    monkeypatch.setattr("harness.stages.policy.stage.run_policy", lambda options: (copies, planted_run[1]))
    ctx = StageContext(HarnessConfig.defaults(PLANTED), None, tmp_path, "pr")
    results = PolicyStage().run(ctx)
    evidence = json.loads((tmp_path / "evidence/policy/findings.json").read_text())
    assert evidence["checkov_version"] == "3.3.30"
    assert set(evidence["timings_s"]) == {"render", "terraform", "harness_rules", "schema", "checkov"}
    failed = [r for r in results if r.status is Status.FAILED]
    engines = [r for r in failed if r.id.startswith(("TF-", "PROM-"))]  # terraform/promtool's own
    assert failed and all("evidence/policy/findings.json" in r.evidence for r in failed if r not in engines)
    assert all(r.evidence == ["evidence/policy/terraform.log"] for r in engines if r.id.startswith("TF-"))


def test_nothing_to_check_is_skipped_not_passed(tmp_path: Path) -> None:
    options = PolicyOptions.for_root(tmp_path)
    results = build_results(Collected(), prepare(options), options)
    assert [(r.id, r.status) for r in results] == [("EU-POLICY-EMPTY", Status.SKIPPED)]
