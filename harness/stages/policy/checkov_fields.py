"""The field a failed checkov Kubernetes check looked at, when checkov does not say.

Container checks name their field (``evaluated_keys``); many object checks do not (e.g.
``CKV_K8S_19``, hostNetwork). For those, the check is run again on the object through a mapping that
records every key the check reads; the deepest field it read that the object has is the one that
decided (for hostNetwork: ``spec/template/spec/hostNetwork``). The re-run must fail again, or the
answer is "no field" and the finding stays at the object's line. Observation only: the check's code
is checkov's, untouched, and nothing it returns changes the finding's verdict.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harness.k8s.sourcemap import FieldPath, value_at

IDENTITY: frozenset[FieldPath] = frozenset({("kind",), ("apiVersion",), ("metadata", "name"),
                                            ("metadata", "namespace"), ("metadata",)})


class _Reads(dict[str, Any]):
    """A dict that logs the path of every key read through ``[]``, ``get`` and ``in``."""

    def __init__(self, data: dict[str, Any], path: FieldPath, log: list[FieldPath]) -> None:
        super().__init__(data)
        self._path, self._log = path, log

    def __getitem__(self, key: str) -> Any:
        self._log.append((*self._path, key))
        return _watch(super().__getitem__(key), (*self._path, key), self._log)

    def get(self, key: str, default: Any = None) -> Any:
        self._log.append((*self._path, key))
        return _watch(super().__getitem__(key), (*self._path, key), self._log) if dict.__contains__(
            self, key) else default

    def __contains__(self, key: object) -> bool:
        self._log.append((*self._path, str(key)))
        return dict.__contains__(self, key)


class _ListReads(list[Any]):
    def __init__(self, data: list[Any], path: FieldPath, log: list[FieldPath]) -> None:
        super().__init__(data)
        self._path, self._log = path, log

    def __getitem__(self, index: Any) -> Any:
        value = super().__getitem__(index)
        return _watch(value, (*self._path, index), self._log) if isinstance(index, int) else value

    def __iter__(self) -> Iterator[Any]:
        for index, value in enumerate(super().__iter__()):
            yield _watch(value, (*self._path, index), self._log)


def _watch(value: Any, path: FieldPath, log: list[FieldPath]) -> Any:
    if isinstance(value, dict):
        return _Reads(value, path, log)
    if isinstance(value, list):
        return _ListReads(value, path, log)
    return value


def field_read(check_id: str, data: dict[str, Any]) -> FieldPath:
    """The deepest field of ``data`` the checkov check ``check_id`` read while failing it; ``()``
    when the check is unknown here (custom checks load in checkov's workers) or passes on re-run."""
    from checkov.common.models.enums import CheckResult
    from checkov.kubernetes.checks.resource.registry import registry

    check = registry.get_check_by_id(check_id)
    if check is None:
        return ()
    log: list[FieldPath] = []
    try:
        outcome = check.scan_entity_conf(_Reads(data, (), log), str(data.get("kind", "")))
    except Exception:  # a check that cannot run on the proxy: keep the object's line
        return ()
    if outcome != CheckResult.FAILED:
        return ()
    present = [p for p in log if p not in IDENTITY and value_at(data, p)[0]]
    return max(reversed(present), key=len) if present else ()


__all__ = ["field_read"]
