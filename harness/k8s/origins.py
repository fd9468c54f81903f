"""Map objects rendered by kustomize back to the files that wrote their fields.

kustomize itself says which file declared each object (``config.kubernetes.io/origin``, see
:func:`harness.k8s.kustomize.render_with_origins`) but not which patch changed which field: its
``transformerAnnotations`` list every patch of a kustomization on every object, matched or not.
This module reads the kustomization tree (resources, patches, namespace, labels, images, replicas)
and builds a :class:`~harness.k8s.sourcemap.SourceMap` per object: the declaring document, then one
layer per patch whose target selects the object, then the kustomization's transformers, innermost
kustomization first (the order kustomize applies them).

It does not render anything: every value it attributes to a patch must equal the value kustomize
rendered at that path, so a patch this module matched by mistake cannot claim a field.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.k8s.documents import name_of
from harness.k8s.kustomize import KUSTOMIZATION_FILES, Rendered
from harness.k8s.layers import patch_layer, transformer_layer
from harness.k8s.sourcemap import SourceMap, child, compose_file, compose_text, line, scalar_name

Display = Callable[[Path], str]


@dataclass(slots=True)
class _Patch:
    file: str
    offset: int  # lines before the patch text in ``file`` (inline patches)
    nodes: tuple[yaml.Node, ...]
    target: dict[str, Any] | None
    source: Path | None = None  # the patch file (None: inline)


@dataclass(slots=True)
class Kustomization:
    """One kustomization file: its node tree, the folders and files it builds on, its patches."""

    file: Path
    node: yaml.Node
    children: list[Kustomization] = field(default_factory=list)
    files: set[Path] = field(default_factory=set)
    patches: list[_Patch] = field(default_factory=list)

    def value(self, key: str) -> yaml.Node | None:
        found = child(self.node, key)
        return found[1] if found else None

    def used_files(self) -> set[Path]:
        """Every file this kustomization and those it builds on read (resources, patches,
        generator inputs, configurations): files in their folders that are not here are unused."""
        used = {self.file, *self.files, *(p.source for p in self.patches if p.source)}
        directory = self.file.parent
        for key in ("crds", "configurations", "transformers", "generators", "validators"):
            used |= {Path(_norm(directory / entry)) for entry in _strings(self.value(key))}
        for key in ("configMapGenerator", "secretGenerator", "replacements"):
            used |= {Path(_norm(directory / entry)) for entry in _generator_inputs(self.value(key))}
        for sub in self.children:
            used |= sub.used_files()
        return used


def load_tree(directory: Path, display: Display, stack: tuple[Path, ...] = ()) -> Kustomization | None:
    """The kustomization of ``directory`` and everything it builds on (None where there is none)."""
    file = next((directory / n for n in KUSTOMIZATION_FILES if (directory / n).is_file()), None)
    if file is None or directory in stack:
        return None
    nodes = compose_file(file)
    tree = Kustomization(file, nodes[0] if nodes else yaml.MappingNode("tag:yaml.org,2002:map", []))
    for key in ("resources", "bases", "components"):
        for entry in _strings(tree.value(key)):
            target = Path(_norm(directory / entry))
            if target.is_dir():
                sub = load_tree(target, display, (*stack, directory))
                tree.children += [sub] if sub else []
            else:
                tree.files.add(target)
    tree.patches = list(_patches(tree, display))
    return tree


class OriginMapper:
    """Builds the SourceMap of each object rendered from one overlay."""

    def __init__(self, overlay: Path, display: Display) -> None:
        self.overlay, self.display = overlay, display
        self.tree = load_tree(overlay, display)

    def source_map(self, rendered: Rendered) -> SourceMap:
        doc = rendered.document
        chain = self._chain(self.tree, rendered.origin) if rendered.origin and self.tree else []
        if rendered.origin is None or not rendered.origin.is_file():
            kustomization = self.tree.file if self.tree else self.overlay
            return SourceMap(self.display(kustomization), 1, None, doc)
        node = _declaring_node(rendered.origin, doc)
        start = line(node) if node is not None else 1
        source = SourceMap(self.display(rendered.origin), start, node, doc)
        name = str(scalar_name(_metadata(node)) or "") if node is not None else name_of(doc)
        for level in reversed(chain):  # innermost first, as kustomize applies them
            source.layers += [patch_layer(p.file, p.offset, n, doc) for p in level.patches for n in p.nodes
                              if _selects(p, n, doc, name)]
            source.layers.append(transformer_layer(self.display(level.file), level.node, doc))
            name = _renamed(level, name)
        return source

    def _chain(self, tree: Kustomization | None, origin: Path) -> list[Kustomization]:
        """The kustomizations from the overlay down to the one that lists ``origin`` (paths compared
        resolved: kustomize reports origins through resolved symlinks)."""
        if tree is None:
            return []
        if origin.resolve() in {f.resolve() for f in tree.files}:
            return [tree]
        for sub in tree.children:
            found = self._chain(sub, origin)
            if found:
                return [tree, *found]
        return []


# --- the kustomization's patches ------------------------------------------------------------------


def _patches(tree: Kustomization, display: Display) -> Iterator[_Patch]:
    directory = tree.file.parent
    for key in ("patchesStrategicMerge", "patches", "patchesJson6902"):
        entries = tree.value(key)
        for entry in entries.value if isinstance(entries, yaml.SequenceNode) else []:
            if isinstance(entry, yaml.ScalarNode):  # patchesStrategicMerge: a path or inline YAML
                entry = yaml.MappingNode("tag:yaml.org,2002:map", [] if "\n" in entry.value or ":"
                                         in entry.value else [(yaml.ScalarNode("", "path"), entry)])
            patch = _one_patch(entry, directory, tree.file, display)
            if patch is not None:
                yield patch


def _one_patch(entry: yaml.Node, directory: Path, file: Path, display: Display) -> _Patch | None:
    target_pair, path_pair, inline_pair = child(entry, "target"), child(entry, "path"), child(entry, "patch")
    target = yaml.load(yaml.serialize(target_pair[1]), Loader=yaml.SafeLoader) if target_pair else None
    try:
        if path_pair is not None:
            source = Path(_norm(directory / str(path_pair[1].value)))
            return _Patch(display(source), 0, compose_file(source), target, source)
        if inline_pair is not None and isinstance(inline_pair[1], yaml.ScalarNode):
            scalar = inline_pair[1]
            offset = line(scalar) if scalar.style in ("|", ">") else line(scalar) - 1
            return _Patch(display(file), offset, compose_text(str(scalar.value)), target)
    except (OSError, yaml.YAMLError):  # kustomize rendered it, so this cannot really happen
        return None
    return None


def _selects(patch: _Patch, node: yaml.Node, doc: dict[str, Any], name: str) -> bool:
    """Whether a patch applies to the object (kustomize's patch target selector: regular
    expressions on group, version, kind, name, namespace; label and annotation selectors)."""
    api_version = str(doc.get("apiVersion", ""))
    group, _, version = api_version.rpartition("/")
    meta = doc.get("metadata") or {}
    actual = {"group": group, "version": version, "kind": str(doc.get("kind", "")), "name": name,
              "namespace": str(meta.get("namespace") or "")}
    target = patch.target
    if target is None:  # a strategic-merge patch names its object itself
        if not isinstance(node, yaml.MappingNode) or child(node, "kind") is None:
            return False
        kind = child(node, "kind")
        target = {"kind": kind[1].value if kind else "", "name": scalar_name(_metadata(node)) or ""}
    for key in ("group", "version", "kind", "name", "namespace"):
        if key in target and not re.fullmatch(str(target[key]), actual[key]):
            return False
    return all(_selector_holds(str(target[key]), meta.get(field_) or {})
               for key, field_ in (("labelSelector", "labels"), ("annotationSelector", "annotations"))
               if key in target)


def _selector_holds(selector: str, labels: dict[str, Any]) -> bool:
    for term in (t.strip() for t in selector.split(",") if t.strip()):
        key, sep, value = term.partition("=")
        if sep and str(labels.get(key.rstrip("!"))) != value.lstrip("="):
            return False
        if not sep and term not in labels:
            return False
    return True


# --- helpers --------------------------------------------------------------------------------------


def _declaring_node(origin: Path, doc: dict[str, Any]) -> yaml.Node | None:
    """The document of ``origin`` that declared the object: same kind, and the longest name the
    rendered name contains (prefixes and suffixes added by kustomize)."""
    kind, name = str(doc.get("kind", "")), name_of(doc)
    candidates = []
    for node in compose_file(origin):
        found = child(node, "kind")
        declared = scalar_name(_metadata(node)) or ""
        if found and str(found[1].value) == kind and declared in name:
            candidates.append((len(declared), node))
    return max(candidates, key=lambda c: c[0])[1] if candidates else None


def _metadata(node: yaml.Node) -> yaml.Node:
    found = child(node, "metadata")
    return found[1] if found else yaml.MappingNode("tag:yaml.org,2002:map", [])


def _renamed(level: Kustomization, name: str) -> str:
    prefix, suffix = level.value("namePrefix"), level.value("nameSuffix")
    return f"{getattr(prefix, 'value', '') or ''}{name}{getattr(suffix, 'value', '') or ''}"


def _generator_inputs(node: yaml.Node | None) -> list[str]:
    found: list[str] = []
    for entry in node.value if isinstance(node, yaml.SequenceNode) else []:
        for key in ("files", "envs"):
            pair = child(entry, key)
            found += [f.rsplit("=", 1)[-1] for f in _strings(pair[1] if pair else None)]
        for key in ("env", "path"):
            pair = child(entry, key)
            found += [str(pair[1].value)] if pair and isinstance(pair[1], yaml.ScalarNode) else []
    return found


def _strings(node: yaml.Node | None) -> list[str]:
    if not isinstance(node, yaml.SequenceNode):
        return []
    return [str(n.value) for n in node.value if isinstance(n, yaml.ScalarNode) and "://" not in str(n.value)]


def _norm(path: Path) -> str:
    return os.path.normpath(path)


__all__ = ["Kustomization", "OriginMapper", "load_tree"]
