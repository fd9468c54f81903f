"""The one helper behind the harness' lazy registries (stages, reporters, targets).

A registry maps a name to ``"module:attribute"``, imported only when the name is used, so asking
for one stage never imports another's dependencies (testinfra's ``BACKENDS`` idea). A registered
module that does not exist yet is *not built*; any other import failure is a real error.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from harness.errors import ConfigError, NotBuiltError


def lazy_import(path: str, what: str) -> tuple[Any, Any]:
    """``(module, attribute or None)`` for ``"module:attribute"``; :class:`NotBuiltError` naming
    ``what`` when the module itself (not one of its imports) does not exist."""
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
            raise NotBuiltError(f"{what} is not built yet") from None
        raise
    return module, getattr(module, attribute, None)


def unknown_name(option: str, kind: str, name: str, valid: Iterable[str]) -> ConfigError:
    """The one-line usage error for a name no registry knows, listing the valid ones."""
    return ConfigError(f"{option}: unknown {kind} {name!r} (expected one of {', '.join(valid)})")


__all__ = ["lazy_import", "unknown_name"]
