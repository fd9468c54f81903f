"""pytest plugin: drives the harness engine from pytest (filled in by the harness-core work)."""

from __future__ import annotations
