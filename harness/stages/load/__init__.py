"""The load stage: Locust SLO gates, autoscaling and canary validation (see :mod:`.stage`)."""

from __future__ import annotations

from harness.stages.load.stage import LoadStage

__all__ = ["LoadStage"]
