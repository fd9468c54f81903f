"""The data-loss verdict."""

from __future__ import annotations

from harness.results import Status
from harness.stages.load.checks import data_loss_result


def test_data_loss() -> None:
    assert data_loss_result("d", 5, 5, 5, "rows").status is Status.PASSED
    assert data_loss_result("d", 5, 4, 5, "rows").status is Status.FAILED
    assert data_loss_result("d", 5, 5, 4, "rows").status is Status.FAILED
    assert data_loss_result("d", 0, 0, 0, "rows").status is Status.FAILED  # nothing accepted: nothing shown
