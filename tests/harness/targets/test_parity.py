"""Emulator parity: terraform/envs/local applied for real, and the functional stage passing, on moto
and on LocalStack alike; destroy leaves nothing with the run's tag on either."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest

from harness.config import HarnessConfig
from harness.results import Status
from harness.stages.base import StageContext
from harness.stages.functional import FunctionalStage
from harness.targets import TargetSettings
from harness.targets.lifecycle import running
from harness.targets.local import LocalTarget
from tests.harness.services.test_localstack import needs_localstack

ROOT = Path(__file__).resolve().parents[3]
pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.timeout(1800),  # up (terraform apply ~1-2 min) + the whole functional stage + destroy
    pytest.mark.skipif(importlib.util.find_spec("easy_upload") is None, reason="reference app not installed"),
]


@pytest.mark.parametrize("emulator", ["moto", pytest.param("localstack", marks=needs_localstack)])
def test_terraform_apply_and_the_functional_stage_pass_on_both_emulators(emulator: str,
                                                                         tmp_path: Path) -> None:
    settings = TargetSettings.for_root(ROOT, run_dir=tmp_path / "run", ready_timeout_s=120,
                                       aws_emulator=emulator)
    target = LocalTarget(settings)
    config = HarnessConfig.defaults(ROOT)
    started = time.monotonic()
    with running(target) as env:
        up_s = time.monotonic() - started
        assert env.extra["aws_emulator"] == emulator
        assert str(env.extra["terraform"]["proven_on"]).startswith("terraform 1.")
        results = list(FunctionalStage().run(StageContext(config, env, tmp_path / "reports", "pr")))
    broken = {r.id: r.message for r in results if r.status in (Status.FAILED, Status.ERROR)}
    assert broken == {}
    assert [r for r in results if r.status is Status.PASSED]
    assert target.leaks == []
    print(f"parity {emulator}: up {up_s:.1f}s ({target.timings}), {len(results)} results")
