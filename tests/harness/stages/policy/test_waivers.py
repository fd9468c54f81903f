"""Waivers: validated before anything runs (readable errors naming file and entry), matched as pure
functions, expired or unmatched waivers are failures, waived results stay visible."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.results import Result, Status
from harness.stages.policy.engine import Collected, Prepared, prepare
from harness.stages.policy.model import Finding
from harness.stages.policy.options import PolicyOptions
from harness.stages.policy.stage import build_results
from harness.stages.policy.waivers import Waiver, apply_waivers, load_waivers

TODAY = dt.date(2026, 11, 26)
ENTRY = """
  - id: {id}
    resource: "{resource}"
    reason: the reason is long enough to be read by a reviewer
    owner: platform-team
    approved_by: security-team
    expires: {expires}
"""


def write(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text("version: 1\nwaivers:\n" + "".join(entries), encoding="utf-8")
    return path


def entry(rid: str = "CKV_AWS_18", resource: str = "terraform:*", expires: str = "2027-01-31") -> str:
    return ENTRY.format(id=rid, resource=resource, expires=expires)


def finding(rid: str = "CKV_AWS_18", passed: bool = False) -> Finding:
    return Finding(rid, passed, "terraform:aws_s3_bucket.logs", "terraform/main.tf:12")


def test_valid_file_loads(tmp_path: Path) -> None:
    waivers = load_waivers(write(tmp_path, entry()))
    assert waivers[0].expires == dt.date(2027, 1, 31)
    assert waivers[0].entry == "waivers.yaml#1 (CKV_AWS_18)"


def test_missing_file_means_no_waivers(tmp_path: Path) -> None:
    assert load_waivers(tmp_path / "absent.yaml") == []


@pytest.mark.parametrize(("text", "needle"), [
    (entry().replace("    owner: platform-team\n", ""),
     "waiver #1 (CKV_AWS_18): 'owner' is a required property"),
    (entry(expires="next-year"), "waivers.yaml#1 (CKV_AWS_18): expires 'next-year' is not a date"),
    (entry().replace("reason: the reason is long enough to be read by a reviewer", "reason: ok"),
     "waiver #1 (CKV_AWS_18) reason"),
    (entry() + "    colour: red\n", "Additional properties are not allowed ('colour'"),
])
def test_malformed_entry_names_file_and_entry(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_waivers(path)
    assert str(path) in str(caught.value)
    assert needle in str(caught.value)


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text("version: 1\nwaivers: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"waivers\.yaml: invalid YAML"):
        load_waivers(path)


def waiver(rid: str = "CKV_AWS_18", resource: str = "terraform:*", expires: dt.date = dt.date(2027, 1, 1)
           ) -> Waiver:
    return Waiver(rid, resource, "reason", "owner", "approver", expires, f"waivers.yaml#1 ({rid})")


@pytest.mark.parametrize(("pattern", "matches"), [
    ("terraform:*", True), ("terraform/main.tf", True), ("terraform/main.tf:12", True),
    ("terraform/other.tf", False), ("manifests/*", False),
])
def test_resource_pattern_matches_resource_or_location(pattern: str, matches: bool) -> None:
    assert waiver(resource=pattern).matches(finding()) is matches


def test_passed_findings_are_never_waived() -> None:
    outcome = apply_waivers([finding(passed=True)], [waiver()], TODAY)
    assert outcome.waived == {}
    assert [w.id for w in outcome.unmatched] == ["CKV_AWS_18"]


def test_expired_waiver_does_not_waive_and_is_reported() -> None:
    outcome = apply_waivers([finding()], [waiver(expires=dt.date(2026, 11, 25))], TODAY)
    assert outcome.waived == {}
    assert [w.id for w in outcome.expired] == ["CKV_AWS_18"]
    assert outcome.unmatched == []


def test_waiver_expiring_today_still_applies() -> None:
    outcome = apply_waivers([finding()], [waiver(expires=TODAY)], TODAY)
    assert list(outcome.waived) == [0]


def results_with(tmp_path: Path, waivers_text: str, findings: list[Finding]) -> list[Result]:
    options = PolicyOptions.for_root(tmp_path, waivers=write(tmp_path, waivers_text), today=TODAY)
    prepared: Prepared = prepare(options)
    return build_results(Collected(findings=findings), prepared, options)


def test_stage_results_show_waived_expired_and_unmatched(tmp_path: Path) -> None:
    text = entry() + entry("CKV_K8S_43", expires="2026-01-01") + entry("EU-K8S-012", "manifests/*")
    results = results_with(tmp_path, text, [finding(), finding("CKV_K8S_43")])
    by_id = {(r.id, r.status) for r in results}
    assert ("CKV_AWS_18", Status.WAIVED) in by_id
    assert ("CKV_K8S_43", Status.FAILED) in by_id  # its waiver expired
    assert ("EU-WAIVER-EXPIRED", Status.FAILED) in by_id
    assert ("EU-WAIVER-UNMATCHED", Status.FAILED) in by_id
    expired = next(r for r in results if r.id == "EU-WAIVER-EXPIRED")
    assert expired.location == "waivers.yaml"
    assert "waivers.yaml#2 (CKV_K8S_43): waiver expired on 2026-01-01" in expired.message


def test_waiver_file_is_validated_before_anything_runs(tmp_path: Path) -> None:
    options = PolicyOptions.for_root(tmp_path, waivers=write(tmp_path, entry(expires="soon")))
    with pytest.raises(ConfigError, match=r"waivers\.yaml"):
        prepare(options)  # the stage calls prepare() before discovery and checkov
