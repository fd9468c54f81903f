"""The control catalog, as the policy stage uses it: see :mod:`harness.catalog` (its one reader)."""

from __future__ import annotations

from harness.catalog import SCHEMA, Catalog, Control, PolicyMeta, load_catalog

__all__ = ["SCHEMA", "Catalog", "Control", "PolicyMeta", "load_catalog"]
