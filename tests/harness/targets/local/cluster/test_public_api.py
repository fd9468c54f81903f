"""The curated public API of harness.targets.local.cluster is complete and importable."""

from __future__ import annotations

import harness.targets.local.cluster as controlplane


def test_all_names_resolve_and_public_classes_are_listed() -> None:
    for name in controlplane.__all__:
        assert getattr(controlplane, name) is not None
    public = {n for n, v in vars(controlplane).items() if not n.startswith("_") and isinstance(v, type)}
    assert public <= set(controlplane.__all__)
    assert controlplane.__all__ == sorted(controlplane.__all__)
