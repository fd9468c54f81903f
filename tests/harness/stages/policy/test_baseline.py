"""Baseline mode: record today's failures, then fail only on new ones (known ones are waived)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.results import Status
from harness.stages.policy.baseline import load_baseline, record_baseline
from harness.stages.policy.engine import Collected, prepare
from harness.stages.policy.model import Finding
from harness.stages.policy.options import PolicyOptions
from harness.stages.policy.stage import build_results

OLD = Finding("CKV_AWS_18", False, "terraform:aws_s3_bucket.logs", "terraform/main.tf:12")
PASSING = Finding("CKV_AWS_21", True, "terraform:aws_s3_bucket.logs", "terraform/main.tf:12")
NEW = Finding("EU-K8S-012", False, "overlays/prod:HorizontalPodAutoscaler/app/api", "manifests/hpa.yaml:1")


def test_records_only_failures(tmp_path: Path) -> None:
    baseline = record_baseline([OLD, PASSING], tmp_path / "baseline.json", dt.datetime(2026, 11, 26))
    data = json.loads((tmp_path / "baseline.json").read_text())
    assert data["fingerprints"] == [OLD.fingerprint]
    assert load_baseline(tmp_path / "baseline.json").fingerprints == baseline.fingerprints


def test_fingerprint_ignores_line_moves() -> None:
    moved = Finding(OLD.id, False, OLD.resource, "terraform/main.tf:40")
    assert moved.fingerprint == OLD.fingerprint


def test_known_failures_are_warned_new_ones_fail(tmp_path: Path) -> None:
    """A baseline is not a governed waiver (no approver, no expiry): known failures are warned."""
    path = tmp_path / "baseline.json"
    record_baseline([OLD], path)
    options = PolicyOptions.for_root(tmp_path, baseline=path)
    results = build_results(Collected(findings=[OLD, NEW, PASSING]), prepare(options), options)
    status = {r.id: r.status for r in results}
    assert status == {"CKV_AWS_18": Status.WARNED, "EU-K8S-012": Status.FAILED, "CKV_AWS_21": Status.PASSED}
    known = next(r for r in results if r.id == "CKV_AWS_18")
    assert known.waiver is not None and "baseline.json" in known.waiver["reason"]


@pytest.mark.parametrize(("text", "needle"), [
    (None, "baseline file not found"),
    ("{not json", "cannot read baseline"),
    ('{"version": 9, "fingerprints": []}', "not a version 1 baseline"),
    ("[]", "not a version 1 baseline"),
])
def test_bad_baseline_is_a_config_error(tmp_path: Path, text: str | None, needle: str) -> None:
    path = tmp_path / "baseline.json"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=needle):
        load_baseline(path)
