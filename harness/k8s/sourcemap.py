"""Where a field of a (rendered) Kubernetes object was written: ``file:line`` for a path such as
``spec/template/spec/containers/[0]/resources/limits/cpu``.

A :class:`SourceMap` stacks what wrote the object: the document that declared it (its *base*), then
*layers* in the order kustomize applied them (patches, then the namespace/labels/images a
kustomization sets; built by :mod:`harness.k8s.origins`). A path is answered by the most specific
writer: for the longest prefix of the path that anyone wrote, a layer that *set* it (latest first),
else the base document, else a layer that only *touched* it (a strategic-merge patch naming a
container it then changes). A field nobody wrote (a missing probe) lands on its closest written
parent, e.g. the container's ``- name:`` line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

FieldPath = tuple[str | int, ...]
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_INDEX = re.compile(r"^\[(\d+)\]$")


def parse_path(path: str | Sequence[str | int], rendered: Any = None) -> FieldPath:
    """``a/b/[0]/c``, ``/a/b/0/c`` (JSON pointer) or a sequence, as a tuple; a segment is an index
    where the rendered object has a list at that point (or it is written ``[n]``)."""
    if not isinstance(path, str):
        return tuple(path)
    parts: list[str | int] = []
    current = rendered
    for raw in (p for p in path.split("/") if p != ""):
        token = raw.replace("~1", "/").replace("~0", "~")
        match = _INDEX.match(token)
        if match or (isinstance(current, list) and (token.isdigit() or token == "-")):
            index = int(match.group(1)) if match else (len(current) - 1 if token == "-" else int(token))
            parts.append(index)
            current = current[index] if isinstance(current, list) and -len(current) <= index < len(current) \
                else None
        else:
            parts.append(token)
            current = current.get(token) if isinstance(current, dict) else None
    return tuple(parts)


def value_at(data: Any, path: FieldPath) -> tuple[bool, Any]:
    """``(found, value)`` of ``path`` in plain data."""
    current = data
    for part in path:
        listed = isinstance(part, int) and isinstance(current, list) and -len(current) <= part < len(current)
        if listed or (isinstance(part, str) and isinstance(current, dict) and part in current):
            current = current[part]
        else:
            return False, None
    return True, current


@lru_cache(maxsize=512)
def compose_file(path: Path) -> tuple[yaml.Node, ...]:
    """The node trees (with line marks) of every non-empty document of a YAML file."""
    return compose_text(path.read_text(encoding="utf-8"))


def compose_text(text: str) -> tuple[yaml.Node, ...]:
    return tuple(n for n in yaml.compose_all(text, Loader=_LOADER) if n is not None)


def line(node: yaml.Node, offset: int = 0) -> int:
    """1-based line of a node, shifted by ``offset`` (inline patches live inside another file)."""
    return node.start_mark.line + 1 + offset


def mapping_items(node: yaml.Node) -> Iterator[tuple[str, yaml.Node, yaml.Node]]:
    """``(key, key node, value node)`` of a mapping node."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                yield str(key.value), key, value


def child(node: yaml.Node, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    """``(key node, value node)`` of one key of a mapping node."""
    return next(((k, v) for name, k, v in mapping_items(node) if name == key), None)


def scalar_name(node: yaml.Node) -> str | None:
    found = child(node, "name")
    return str(found[1].value) if found and isinstance(found[1], yaml.ScalarNode) else None


def item_for(node: yaml.SequenceNode, index: int, rendered_list: Any) -> yaml.Node | None:
    """The item of a source list that became ``rendered_list[index]``: the one with the same
    ``name`` when items are named (kustomize and strategic merge match containers, env, ports by
    name), else the one at the same position."""
    wanted = rendered_list[index] if isinstance(rendered_list, list) and index < len(rendered_list) else None
    if isinstance(wanted, dict) and "name" in wanted:
        named: list[yaml.Node] = [item for item in node.value if scalar_name(item) == str(wanted["name"])]
        if named:
            return named[0]
    item: yaml.Node | None = node.value[index] if 0 <= index < len(node.value) else None
    return item


@dataclass(slots=True)
class Layer:
    """What one writer (a patch, a kustomization's transformers) wrote into one object."""

    file: str
    set: dict[FieldPath, int] = field(default_factory=dict)
    touched: dict[FieldPath, int] = field(default_factory=dict)


@dataclass(slots=True)
class SourceMap:
    """The writers of one object: its declaring document and the layers applied on top."""

    file: str
    start: int
    node: yaml.Node | None
    rendered: dict[str, Any]
    layers: list[Layer] = field(default_factory=list)

    def locate(self, path: str | Sequence[str | int] = ()) -> tuple[str, int]:
        """``(file, line)`` where the value at ``path`` was written (see the module docstring)."""
        parts = parse_path(path, self.rendered)
        for depth in range(len(parts), 0, -1):
            prefix = parts[:depth]
            for layer in reversed(self.layers):
                if prefix in layer.set:
                    return layer.file, layer.set[prefix]
            base = self._base_line(prefix)
            if base is not None:
                return self.file, base
            for layer in reversed(self.layers):
                if prefix in layer.touched:
                    return layer.file, layer.touched[prefix]
        return self.file, self.start

    def _base_line(self, path: FieldPath) -> int | None:
        node, rendered, found = self.node, self.rendered, None
        for part in path:
            if node is None:
                return None
            if isinstance(part, int) and isinstance(node, yaml.SequenceNode):
                node = item_for(node, part, rendered)
                found = line(node) if node is not None else None
            elif isinstance(part, str) and (pair := child(node, part)) is not None:
                found, node = line(pair[0]), pair[1]
            else:
                return None
            rendered = value_at(rendered, (part,))[1]
        return found


def construct(node: yaml.Node) -> Any:
    """The plain data of a composed document (what ``yaml.safe_load`` would return)."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


__all__ = ["FieldPath", "Layer", "SourceMap", "child", "compose_file", "compose_text", "construct",
           "item_for", "line", "mapping_items", "parse_path", "scalar_name", "value_at"]
