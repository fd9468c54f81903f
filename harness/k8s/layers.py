"""What one writer wrote into a rendered object, as a :class:`~harness.k8s.sourcemap.Layer`: a patch
(strategic merge, JSON 6902) or a kustomization's transformer fields. Used by
:mod:`harness.k8s.origins`; every claim is checked against the value kustomize rendered, so a patch
matched by mistake claims nothing that is not there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from harness.k8s.documents import name_of
from harness.k8s.sourcemap import (
    FieldPath,
    Layer,
    child,
    line,
    mapping_items,
    parse_path,
    scalar_name,
    value_at,
)

_LABEL_PATHS: tuple[FieldPath, ...] = (("metadata", "labels"), ("spec", "selector", "matchLabels"),
                                       ("spec", "selector"), ("spec", "template", "metadata", "labels"))


def patch_layer(file: str, offset: int, node: yaml.Node, doc: dict[str, Any]) -> Layer:
    """What one patch document (strategic merge, or a JSON 6902 list) wrote into ``doc``; ``offset``
    = lines before the patch text in ``file`` (inline patches)."""
    layer = Layer(file)
    if isinstance(node, yaml.SequenceNode):
        for op in node.value:
            _json6902_op(layer, op, doc, offset)
    else:
        _merge(layer, node, (), 0, doc, offset, replace=False)
    return layer


def _json6902_op(layer: Layer, op: yaml.Node, doc: dict[str, Any], offset: int) -> None:
    kind, where = child(op, "op"), child(op, "path")
    if kind is None or where is None or str(kind[1].value) not in ("add", "replace", "copy", "move"):
        return
    path = parse_path(str(where[1].value), doc)
    value = child(op, "value")
    if value is None:
        layer.set[path] = line(where[0], offset)
        return
    _merge(layer, value[1], path, line(value[0], offset), doc, offset, replace=True)
    layer.set.setdefault(path, line(value[0], offset))


def _merge(layer: Layer, node: yaml.Node, path: FieldPath, at: int, doc: dict[str, Any], offset: int,
           *, replace: bool) -> None:
    """Record what a patch value writes: scalars and replaced lists are *set*, mappings and lists
    merged by name only *touched* (strategic merge; JSON 6902 values replace everything)."""
    rendered = value_at(doc, path)
    if isinstance(node, yaml.ScalarNode):
        if rendered[0] and str(rendered[1]).lower() == str(node.value).lower():
            layer.set[path] = at
        return
    if isinstance(node, yaml.MappingNode):
        if path:
            (layer.set if replace else layer.touched)[path] = at
        for key, key_node, value in mapping_items(node):
            if key.startswith("$") or (not replace and _identifies(path, key)):
                continue
            _merge(layer, value, (*path, key), line(key_node, offset), doc, offset, replace=replace)
        return
    if isinstance(node, yaml.SequenceNode):
        _merge_list(layer, node, path, at, rendered[1], offset, doc, replace=replace)


def _merge_list(layer: Layer, node: yaml.SequenceNode, path: FieldPath, at: int, rendered: Any, offset: int,
                doc: dict[str, Any], *, replace: bool) -> None:
    items = list(node.value)
    named = not replace and all(scalar_name(i) is not None for i in items) and bool(items)
    (layer.touched if named else layer.set)[path] = at
    for position, item in enumerate(items):
        index = _rendered_index(scalar_name(item), rendered) if named else position
        if index is not None:
            _merge(layer, item, (*path, index), line(item, offset), doc, offset, replace=replace or not named)


def _rendered_index(name: str | None, rendered: Any) -> int | None:
    if not isinstance(rendered, list):
        return None
    return next((i for i, item in enumerate(rendered) if isinstance(item, dict) and item.get("name") == name),
                None)


def _identifies(path: FieldPath, key: str) -> bool:
    """Keys a strategic-merge patch uses to name its object, not to change it."""
    return (not path and key in ("apiVersion", "kind")) or (path == ("metadata",) and key == "name")


def transformer_layer(file: str, kustomization: yaml.Node, doc: dict[str, Any]) -> Layer:
    """What one kustomization's namespace, namePrefix/Suffix, labels, annotations, images and
    replicas fields wrote into ``doc`` (each claim checked against the rendered value)."""
    layer = Layer(file)
    for key, key_node, value in mapping_items(kustomization):
        if key == "namespace":
            _claim(layer, doc, ("metadata", "namespace"), line(key_node))
        elif key in ("namePrefix", "nameSuffix"):
            _claim(layer, doc, ("metadata", "name"), line(key_node), check=False)
        elif key in ("commonLabels", "commonAnnotations", "labels"):
            _labels(layer, doc, value, "annotations" if key == "commonAnnotations" else "labels")
        elif key == "images":
            _images(layer, doc, value)
        elif key == "replicas":
            for entry in value.value if isinstance(value, yaml.SequenceNode) else []:
                if scalar_name(entry) == name_of(doc):
                    _claim(layer, doc, ("spec", "replicas"), line(entry))
    return layer


def _claim(layer: Layer, doc: dict[str, Any], path: FieldPath, at: int, *, check: bool = True) -> None:
    if not check or value_at(doc, path)[0]:
        layer.set[path] = at


def _labels(layer: Layer, doc: dict[str, Any], node: yaml.Node, kind: str) -> None:
    plain = isinstance(node, yaml.MappingNode) and child(node, "pairs") is None  # commonLabels: {k: v}
    pairs: list[yaml.Node] = [node] if plain else []
    if isinstance(node, yaml.SequenceNode):  # labels: [{pairs: {...}, includeSelectors: ...}]
        pairs = [p[1] for item in node.value if (p := child(item, "pairs")) is not None]
    paths = [("metadata", "annotations")] if kind == "annotations" else list(_LABEL_PATHS)
    for mapping in pairs:
        for key, key_node, value in mapping_items(mapping):
            for base in paths:
                found, actual = value_at(doc, (*base, key))
                if found and str(actual) == str(getattr(value, "value", "")):
                    layer.set[(*base, key)] = line(key_node)


def _images(layer: Layer, doc: dict[str, Any], node: yaml.Node) -> None:
    for entry in node.value if isinstance(node, yaml.SequenceNode) else []:
        names = [str(pair[1].value) for key in ("newName", "name") if (pair := child(entry, key))]
        for path, image in _image_fields(doc, ()):
            if any(image == n or image.startswith((f"{n}:", f"{n}@")) for n in names):
                layer.set[path] = line(entry)


def _image_fields(data: Any, path: FieldPath) -> Iterator[tuple[FieldPath, str]]:
    if isinstance(data, dict):
        if isinstance(data.get("image"), str) and "name" in data:
            yield (*path, "image"), data["image"]
        for key, value in data.items():
            yield from _image_fields(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _image_fields(value, (*path, index))


__all__ = ["patch_layer", "transformer_layer"]
