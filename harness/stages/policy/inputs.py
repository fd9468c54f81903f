"""Find and load what the policy stage checks: Terraform folders, Kubernetes manifests (kustomize
overlays rendered with :mod:`harness.k8s`, plain YAML files as they are), Dockerfiles and GitHub
Actions workflows. Every object keeps the ``path:line`` where a reviewer would fix it."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

from harness.iac.terraform import END_LINE, FILE_KEY, START_LINE, iter_tf_dirs, load_terraform
from harness.stages.policy.model import Inputs, K8sDoc, TfResource

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
PRUNED_DIRS = frozenset({".git", ".venv", "venv", "node_modules", ".tox", "__pycache__", ".mypy_cache",
                         ".ruff_cache", ".pytest_cache", ".terraform", "reports", ".harness"})
YAML_SUFFIXES = (".yaml", ".yml")
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present


@dataclass(slots=True)
class Sources:
    """What one run found, and what could not be read (each problem names its file)."""

    root: Path
    inputs: Inputs = field(default_factory=Inputs)
    tf_dirs: list[Path] = field(default_factory=list)
    raw_manifests: list[Path] = field(default_factory=list)
    dockerfiles: list[Path] = field(default_factory=list)
    workflows: list[Path] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (location, message)

    def rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()


def discover(root: Path, terraform: Path, manifests: Path, exclude: tuple[str, ...] = (),
             *, parse_terraform: bool = True) -> Sources:
    """Load everything under ``root``; ``exclude`` are folder paths relative to ``root``. With
    ``parse_terraform=False`` only the Terraform folders are listed (see :func:`parse_terraform`)."""
    sources = Sources(root=root.resolve())
    files = list(walk(sources.root, exclude))
    sources.tf_dirs = list(iter_tf_dirs(terraform)) if terraform.is_dir() else []
    if parse_terraform:
        load_terraform_blocks(sources)
    _load_manifests(sources, manifests)
    sources.dockerfiles = [p for p in files if _is_dockerfile(p)]
    sources.workflows = [p for p in files if p.parent.as_posix().endswith(".github/workflows")
                         and p.suffix in YAML_SUFFIXES]
    return sources


def walk(root: Path, exclude: tuple[str, ...] = ()) -> Iterator[Path]:
    """Files under ``root`` without descending into virtualenvs, caches, VCS or excluded folders."""
    excluded = {(root / e).resolve() for e in exclude}
    for current, dirs, names in os.walk(root):
        here = Path(current)
        dirs[:] = sorted(d for d in dirs if d not in PRUNED_DIRS and (here / d).resolve() not in excluded)
        yield from (here / n for n in sorted(names))


def load_yaml_docs(path: Path) -> list[tuple[int, Any]]:
    """``[(first line, document)]`` of a multi-document YAML file (empty documents dropped)."""
    loader = _LOADER(path.read_text(encoding="utf-8"))
    try:
        found: list[tuple[int, Any]] = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                found.append((node.start_mark.line + 1, loader.construct_document(node)))
        return found
    finally:
        loader.dispose()


def _is_dockerfile(path: Path) -> bool:
    return path.name == "Dockerfile" or path.name.startswith("Dockerfile.") or path.suffix == ".Dockerfile"


# --- Terraform ------------------------------------------------------------------------------------


def load_terraform_blocks(sources: Sources) -> None:
    """Parse every listed Terraform folder into ``sources.inputs`` (the slow part of discovery)."""
    for directory in sources.tf_dirs:
        rel = sources.rel(directory)
        try:
            tf = load_terraform(directory)
        except Exception as exc:  # a parse error names its file; keep checking the rest
            sources.problems.append((rel, str(exc)))
            continue
        sources.inputs.terraform[rel] = list(_blocks(tf, rel, "resource", two_labels=True))
        sources.inputs.terraform[rel] += list(_blocks(tf, rel, "data", two_labels=True, prefix="data."))
        sources.inputs.providers[rel] = list(_blocks(tf, rel, "provider", two_labels=False))
        sources.inputs.modules[rel] = [TfResource("module", b.type, b.body, b.location, rel)
                                       for b in _blocks(tf, rel, "module", two_labels=False)]
        sources.inputs.variables[rel] = {b.type: b.body for b in _blocks(tf, rel, "variable",
                                                                          two_labels=False)}
        sources.inputs.locals[rel] = {k: v for block in tf.get("locals", []) for k, v in block.items()
                                      if not k.startswith("__")}


def _blocks(tf: dict[str, Any], rel: str, key: str, *, two_labels: bool, prefix: str = ""
            ) -> Iterator[TfResource]:
    for entry in tf.get(key, []):
        for first, inner in entry.items():
            pairs = inner.items() if two_labels else [("", inner)]
            for name, body in pairs:
                if isinstance(body, dict):
                    where = f"{rel}/{body.get(FILE_KEY, '?')}:{body.get(START_LINE, '?')}"
                    yield TfResource(prefix + first, name, body, where, rel)


def tf_line_range(body: dict[str, Any]) -> tuple[int, int]:
    return int(body.get(START_LINE, 0)), int(body.get(END_LINE, 0))


# --- Kubernetes -----------------------------------------------------------------------------------


def _load_manifests(sources: Sources, manifests: Path) -> None:
    if not manifests.is_dir():
        return
    yaml_files = [p for p in walk(manifests) if p.suffix in YAML_SUFFIXES or p.name == "Kustomization"]
    kustomize_dirs = {p.parent for p in yaml_files if p.name in KUSTOMIZATION_FILES}
    index = _source_index(sources, yaml_files)
    for overlay in _kustomize_roots(kustomize_dirs):
        _render_group(sources, overlay, index)
    for path in yaml_files:
        if not any(path.is_relative_to(d) for d in kustomize_dirs):
            _load_raw(sources, path)


def _kustomize_roots(dirs: set[Path]) -> list[Path]:
    """Kustomizations no other kustomization builds on (the overlays people deploy)."""
    referenced: set[Path] = set()
    for directory in dirs:
        data = _kustomization(directory)
        for key in ("resources", "bases", "components"):
            referenced |= {(directory / str(r)).resolve() for r in data.get(key) or []}
    return sorted(d for d in dirs if d.resolve() not in referenced)


def _kustomization(directory: Path) -> dict[str, Any]:
    for name in KUSTOMIZATION_FILES:
        if (directory / name).is_file():
            data = yaml.safe_load((directory / name).read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
    return {}


def _source_index(sources: Sources, files: list[Path]) -> dict[tuple[str, str], list[tuple[Path, int]]]:
    index: dict[tuple[str, str], list[tuple[Path, int]]] = {}
    for path in files:
        try:
            docs = load_yaml_docs(path)
        except yaml.YAMLError as exc:
            sources.problems.append((sources.rel(path), f"invalid YAML: {exc}"))
            continue
        for line, doc in docs:
            if isinstance(doc, dict) and "kind" in doc and isinstance(doc.get("metadata"), dict):
                key = (str(doc["kind"]), str(doc["metadata"].get("name", "")))
                index.setdefault(key, []).append((path, line))
    return index


def _render_group(sources: Sources, overlay: Path, index: dict[tuple[str, str], list[tuple[Path, int]]]
                  ) -> None:
    group = sources.rel(overlay)
    try:
        rendered = _renderer()(overlay)
    except Exception as exc:  # a broken overlay is reported, the others are still checked
        sources.problems.append((group, f"cannot render kustomization: {exc}"))
        return
    docs = [K8sDoc(d, _locate(sources, d, overlay, index, group), group) for d in rendered
            if isinstance(d, dict)]
    sources.inputs.k8s[group] = docs


def _locate(sources: Sources, doc: dict[str, Any], overlay: Path,
            index: dict[tuple[str, str], list[tuple[Path, int]]], group: str) -> str:
    """Where to fix a rendered object: its definition in the overlay if it has one, else the base."""
    name = str((doc.get("metadata") or {}).get("name", ""))
    candidates = index.get((str(doc.get("kind", "")), name), [])
    if not candidates:  # name prefixes/suffixes: fall back to the longest name it contains
        candidates = max(([locs for (kind, base), locs in index.items()
                           if kind == doc.get("kind") and base and base in name]), key=len, default=[])
    if not candidates:
        return f"{group}/kustomization.yaml:1"
    inside = [c for c in candidates if c[0].is_relative_to(overlay)]
    path, line = (inside or candidates)[0]
    return f"{sources.rel(path)}:{line}"


def _load_raw(sources: Sources, path: Path) -> None:
    rel = sources.rel(path)
    try:
        docs = load_yaml_docs(path)
    except yaml.YAMLError:
        return  # already reported by the source index
    group = sources.rel(path.parent)
    found = [K8sDoc(d, f"{rel}:{line}", group) for line, d in docs
             if isinstance(d, dict) and "kind" in d and "apiVersion" in d]
    if found:
        sources.raw_manifests.append(path)
        sources.inputs.k8s.setdefault(group, []).extend(found)


def _renderer() -> Callable[[Path], list[dict[str, Any]]]:
    """``harness.k8s.render_overlay``, looked up late so the stage loads without it."""
    module = importlib.import_module("harness.k8s")
    return cast(Callable[[Path], list[dict[str, Any]]], module.render_overlay)


__all__ = ["Sources", "discover", "load_terraform_blocks", "load_yaml_docs", "tf_line_range", "walk"]
