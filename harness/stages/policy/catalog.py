"""The control catalog, as the policy stage uses it: see :mod:`harness.catalog` (its one reader)."""

from __future__ import annotations

from harness.catalog import SCHEMA, Catalog, CatalogControl, PolicyMeta, load_catalog

__all__ = ["SCHEMA", "Catalog", "CatalogControl", "PolicyMeta", "load_catalog"]
