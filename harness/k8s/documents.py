"""Load Kubernetes YAML documents from files, with errors that name the file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigError

Document = dict[str, Any]

YAML_SUFFIXES = (".yaml", ".yml")
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 10x faster


def load_documents(path: str | Path) -> list[Document]:
    """Every non-empty YAML document of a file, or of every *.yaml/*.yml file of a folder (sorted)."""
    source = Path(path)
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix in YAML_SUFFIXES)
        return [doc for file in files for doc in _load_file(file)]
    return _load_file(source)


def _load_file(path: Path) -> list[Document]:
    try:
        loaded = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=_LOADER))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    docs = [doc for doc in loaded if doc is not None]
    for index, doc in enumerate(docs):
        if not isinstance(doc, dict) or "kind" not in doc:
            raise ConfigError(f"{path}: document {index + 1} is not a Kubernetes object")
    return docs


def name_of(doc: Mapping[str, Any]) -> str:
    """``metadata.name`` ("" when absent)."""
    return str((doc.get("metadata") or {}).get("name", ""))


def resource_id(doc: Document) -> tuple[str, str, str, str]:
    """(group, kind, namespace, name): kustomize's identity of a resource (version excluded)."""
    api_version = str(doc.get("apiVersion", ""))
    group = api_version.rpartition("/")[0]
    meta = doc.get("metadata") or {}
    return group, str(doc.get("kind", "")), str(meta.get("namespace", "")), str(meta.get("name", ""))
