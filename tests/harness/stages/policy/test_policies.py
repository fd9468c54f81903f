"""Every policy of ours has a passing and a failing case (``cases/<id>/{pass,fail}``), and each
case gives the verdict it is named after."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.catalog import catalog_for, load_catalog
from harness.errors import ConfigError
from harness.stages.policy.inputs import discover
from harness.stages.policy.model import Finding
from harness.stages.policy.options import BUILTIN_POLICIES
from harness.stages.policy.rules import Rule, load_rules
from tests.harness.stages.policy.conftest import CASES, CHECKOV_POLICIES, case_roots

# The built-in policies and this project's own (policies/: EU-K8S-080 knows the reference app's worker).
PROJECT_POLICIES = Path(__file__).resolve().parents[4] / "policies"
RULES = {r.id: r for r in load_rules([BUILTIN_POLICIES / "rules", PROJECT_POLICIES / "rules"])}
CATALOG = catalog_for(PROJECT_POLICIES)[0]
POLICY_IDS = sorted(CATALOG.policies)
CASE_PARAMS = [pytest.param(pid, verdict, root, id=f"{pid}-{root.relative_to(CASES / pid).as_posix()}")
               for pid in POLICY_IDS for verdict in ("pass", "fail") for root in case_roots(pid, verdict)]


def harness_findings(rule: Rule, root: Path) -> list[Finding]:
    sources = discover(root, root / "terraform", root / "manifests")
    assert not sources.problems, sources.problems
    sources.inputs.options = {"manual_environments": ("production",),
                              "required_tags": ("Environment", "Owner", "CostCenter", "Application"),
                              "raw_bucket_patterns": ("*raw*",)}
    return rule.evaluate(sources.inputs)


def findings_for(policy_id: str, root: Path, checkov_case_findings: dict[str, list[Finding]]
                 ) -> list[Finding]:
    if policy_id in CHECKOV_POLICIES:
        key = root.relative_to(CASES).as_posix()
        return [f for f in checkov_case_findings.get(key, []) if f.id == policy_id]
    return harness_findings(RULES[policy_id], root)


@pytest.mark.parametrize(("policy_id", "verdict", "root"), CASE_PARAMS)
def test_case_verdict(policy_id: str, verdict: str, root: Path,
                      checkov_case_findings: dict[str, list[Finding]]) -> None:
    findings = findings_for(policy_id, root, checkov_case_findings)
    failed = [f for f in findings if not f.passed]
    if verdict == "pass":
        assert findings and not failed, [f.message for f in failed]
    else:
        assert failed, f"{policy_id} did not fail on {root}"
        assert all(":" in f.location and f.location.rsplit(":", 1)[1].isdigit() for f in failed)


def test_every_policy_has_both_cases() -> None:
    missing = [f"{pid}/{verdict}" for pid in POLICY_IDS for verdict in ("pass", "fail")
               if not (CASES / pid / verdict).is_dir()]
    assert not missing


def test_catalog_and_implementations_agree() -> None:
    implemented = set(RULES) | set(CHECKOV_POLICIES)
    assert implemented == set(CATALOG.policies)
    engines = {pid: meta.engine for pid, meta in CATALOG.policies.items()}
    assert {pid for pid, engine in engines.items() if engine == "harness"} == set(RULES)


def test_every_policy_evidences_a_control() -> None:
    orphans = [pid for pid in CATALOG.policies if not CATALOG.controls_for(pid)]
    assert not orphans


def test_catalog_covers_required_frameworks() -> None:
    required = {"cis-eks", "cis-aws", "nist-800-53", "owasp-asvs", "owasp-top10", "soc2"}
    assert required <= set(CATALOG.frameworks)
    used = {key for control in CATALOG.controls for key in control.frameworks}
    assert used <= set(CATALOG.frameworks)


def test_the_app_specific_rule_is_the_projects_own() -> None:
    """EU-K8S-080 reads the reference app's WORKER_CONCURRENCY / JOB_MEMORY_BUDGET_MIB: a rule of this
    project's policies/, loaded like any repo's own, evidencing the built-in EU-C-RES-03 (`controls:`)."""
    builtin = {r.id for r in load_rules([BUILTIN_POLICIES / "rules"])}
    assert "EU-K8S-080" not in builtin
    assert "EU-K8S-080" not in load_catalog(BUILTIN_POLICIES / "controls.yaml").policies
    assert RULES["EU-K8S-080"].source == str(PROJECT_POLICIES / "rules" / "k8s_budgets.py")
    assert CATALOG.controls_for("EU-K8S-080") == ["EU-C-RES-03"]


def test_the_builtin_catalog_names_only_its_own_policies() -> None:
    """Every EU-* id a built-in control lists literally is a built-in policy: another project's catalog
    has none of this project's ids (EU-K8S-080 was listed there after it moved to policies/)."""
    builtin = load_catalog(BUILTIN_POLICIES / "controls.yaml")
    named = {e for c in builtin.controls for e in c.evidence if e.startswith("EU-") and "*" not in e}
    assert named - set(builtin.policies) == set()


def test_a_policy_naming_an_unknown_control_names_file_and_key(tmp_path: Path) -> None:
    """A repo's policy may evidence a catalog control through `controls:`; a typo there would evidence
    nothing silently, so it is refused naming the file and the policy."""
    text = (PROJECT_POLICIES / "controls.yaml").read_text(encoding="utf-8")
    typo = text.replace("controls: [EU-C-RES-03]", "controls: [EU-C-RES-30]")
    (tmp_path / "controls.yaml").write_text(typo, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        catalog_for(tmp_path)
    assert str(caught.value) == (f"{tmp_path / 'controls.yaml'}: policies/EU-K8S-080/controls: "
                                 "EU-C-RES-30 is not a control of the catalog")
