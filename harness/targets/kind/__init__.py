"""The ``kind`` target: a kind cluster per run, driven through the shared cluster driver.

Verified in the nightly workflow only (it needs a Docker engine); elsewhere its preflight stops
the run before any stage, naming what is missing.
"""

from __future__ import annotations

from harness.targets.kind.target import KindTarget, from_spec

__all__ = ["KindTarget", "from_spec"]
