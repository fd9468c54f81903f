"""The policy stage: checkov in-process, our own policies (``policies/``), offline schema
validation of manifests, a control catalog, waivers and a baseline. Needs no environment."""

from __future__ import annotations

from harness.stages.policy.options import PolicyOptions
from harness.stages.policy.stage import PolicyStage, build_results, run_policy

__all__ = ["PolicyOptions", "PolicyStage", "build_results", "run_policy"]
