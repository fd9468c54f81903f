"""Strategic-merge and JSON 6902 patches, as far as kustomize applies them to our manifests.

Strategic merge: maps merge recursively, ``null`` deletes a key, and lists are replaced except the
well-known merge-keyed lists of built-in kinds (containers by name, env by name, ...). For custom
resources kustomize has no schema, so their lists are replaced too. Patch directives (``$patch``,
``$retainKeys``, ``$setElementOrder/...``, ``$deleteFromPrimitiveList/...``) are not supported and
raise :class:`ConfigError` rather than being ignored.
"""

from __future__ import annotations

import copy
from typing import Any

from harness.errors import ConfigError

BUILTIN_GROUPS = frozenset(
    {"", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "rbac.authorization.k8s.io"}
)

# field name -> merge key, for lists of built-in kinds (k8s.io/api patchMergeKey tags).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
}


def is_builtin(doc: dict[str, Any]) -> bool:
    """Whether kustomize knows the kind's schema (so merge keys apply)."""
    return str(doc.get("apiVersion", "")).rpartition("/")[0] in BUILTIN_GROUPS


def strategic_merge(target: dict[str, Any], patch: dict[str, Any], source: str) -> dict[str, Any]:
    """Return ``target`` with ``patch`` merged in (neither argument is modified)."""
    return _merge_map(copy.deepcopy(target), patch, is_builtin(target), source)


def _merge_map(base: dict[str, Any], patch: dict[str, Any], builtin: bool, source: str) -> dict[str, Any]:
    for key, value in patch.items():
        if key.startswith("$"):
            raise ConfigError(f"{source}: strategic-merge directive {key!r} is not supported")
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = _merge_map(base[key], value, builtin, source)
        elif isinstance(value, list) and isinstance(base.get(key), list) and builtin:
            base[key] = _merge_list(key, base[key], value, source)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _merge_list(field: str, base: list[Any], patch: list[Any], source: str) -> list[Any]:
    merge_key = _merge_key(field, patch)
    if merge_key is None:
        return copy.deepcopy(patch)
    merged = list(base)
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            raise ConfigError(f"{source}: every item of {field!r} needs its merge key {merge_key!r}")
        index = next((i for i, old in enumerate(merged) if old.get(merge_key) == item[merge_key]), None)
        if index is None:
            merged.append(copy.deepcopy(item))
        else:
            merged[index] = _merge_map(copy.deepcopy(merged[index]), item, True, source)
    return merged


def _merge_key(field: str, patch: list[Any]) -> str | None:
    if field == "ports":  # container ports merge on containerPort, Service ports on port
        first = patch[0] if patch and isinstance(patch[0], dict) else {}
        return "containerPort" if "containerPort" in first else "port"
    return MERGE_KEYS.get(field)


def json6902(target: dict[str, Any], operations: list[Any], source: str) -> dict[str, Any]:
    """Apply RFC 6902 operations (add, remove, replace, move, copy, test) to a copy of ``target``."""
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise ConfigError(f"{source}: JSON 6902 operation needs 'op' and 'path': {op!r}")
        doc = _apply_op(doc, op, source)
    return doc


def _apply_op(doc: dict[str, Any], op: dict[str, Any], source: str) -> dict[str, Any]:
    name, path = op["op"], str(op["path"])
    if name in ("add", "replace", "test") and "value" not in op:
        raise ConfigError(f"{source}: {name} {path}: missing 'value'")
    if name == "add":
        _put(doc, path, copy.deepcopy(op["value"]), insert=True, source=source)
    elif name == "replace":
        _get(doc, path, source)
        _put(doc, path, copy.deepcopy(op["value"]), insert=False, source=source)
    elif name == "remove":
        _remove(doc, path, source)
    elif name in ("move", "copy"):
        value = copy.deepcopy(_get(doc, str(op.get("from", "")), source))
        if name == "move":
            _remove(doc, str(op["from"]), source)
        _put(doc, path, value, insert=True, source=source)
    elif name == "test":
        if _get(doc, path, source) != op["value"]:
            raise ConfigError(f"{source}: test {path} failed")
    else:
        raise ConfigError(f"{source}: unknown JSON 6902 op {name!r}")
    return doc


def _tokens(path: str, source: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ConfigError(f"{source}: JSON pointer must start with '/': {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _walk(doc: Any, tokens: list[str], path: str, source: str) -> Any:
    node = doc
    for token in tokens:
        try:
            node = node[int(token)] if isinstance(node, list) else node[token]
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise ConfigError(f"{source}: path {path!r} does not exist") from exc
    return node


def _get(doc: Any, path: str, source: str) -> Any:
    return _walk(doc, _tokens(path, source), path, source)


def _put(doc: Any, path: str, value: Any, *, insert: bool, source: str) -> None:
    tokens = _tokens(path, source)
    if not tokens:
        raise ConfigError(f"{source}: cannot replace the whole document")
    parent = _walk(doc, tokens[:-1], path, source)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list) and last == "-":
        parent.append(value)
    elif isinstance(parent, list) and last.isdigit() and int(last) <= len(parent):
        if insert:
            parent.insert(int(last), value)
        elif int(last) < len(parent):
            parent[int(last)] = value
        else:
            raise ConfigError(f"{source}: path {path!r} does not exist")
    else:
        raise ConfigError(f"{source}: path {path!r} does not exist")


def _remove(doc: Any, path: str, source: str) -> None:
    tokens = _tokens(path, source)
    parent = _walk(doc, tokens[:-1], path, source)
    try:
        del parent[int(tokens[-1]) if isinstance(parent, list) else tokens[-1]]
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"{source}: path {path!r} does not exist") from exc
