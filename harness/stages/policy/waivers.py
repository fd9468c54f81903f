"""Waivers, as the policy stage uses them: see :mod:`harness.waivers` (their one reader)."""

from __future__ import annotations

from harness.waivers import SCHEMA, Waiver, WaiverOutcome, apply_waivers, load_waivers

__all__ = ["SCHEMA", "Waiver", "WaiverOutcome", "apply_waivers", "load_waivers"]
