"""A pure-Python subset of kustomize: enough to render this repo's overlays without the binary.

Supported kustomization fields (everything else raises ConfigError naming the file and field):
``resources`` (files and folders, no URLs), ``bases`` (legacy alias), ``namespace``, ``labels``
(``pairs`` with ``includeSelectors``/``includeTemplates`` false), ``images`` (``name``, ``newName``,
``newTag``, ``digest``), ``patches`` (``path`` or ``patch``, optional ``target`` with group, version,
kind, name, namespace), ``patchesStrategicMerge`` and ``patchesJson6902`` (legacy forms).
Transformers run in kustomize's order: strategic-merge patches, patches, namespace, labels,
JSON 6902 patches, images. Output order is kustomize's "legacy" kind order.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.k8s.documents import Document, load_documents, load_yaml, parse_yaml_stream, resource_id
from harness.k8s.patches import json6902, strategic_merge

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SUPPORTED_FIELDS = frozenset(
    {"apiVersion", "kind", "resources", "bases", "namespace", "labels", "images", "patches",
     "patchesStrategicMerge", "patchesJson6902"}
)
CLUSTER_SCOPED_KINDS = frozenset(
    {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
     "StorageClass", "IngressClass", "PriorityClass", "MutatingWebhookConfiguration",
     "ValidatingWebhookConfiguration", "APIService", "RuntimeClass", "CSIDriver", "NodePool",
     "EC2NodeClass", "ClusterSecretStore", "ClusterIssuer"}
)
# kustomize's legacy ordering (api/resid/gvk.go): these first, webhooks last, the rest between.
ORDER_FIRST = (
    "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition", "ServiceAccount",
    "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap",
    "Secret", "Endpoints", "Service", "LimitRange", "PriorityClass", "PersistentVolume",
    "PersistentVolumeClaim", "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget",
)
ORDER_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


def find_kustomization(directory: Path) -> Path:
    """The kustomization file of a folder; ConfigError when there is none."""
    for name in KUSTOMIZATION_FILES:
        if (directory / name).is_file():
            return directory / name
    raise ConfigError(f"{directory}: no kustomization.yaml")


def render_overlay(directory: str | Path) -> list[Document]:
    """Render a kustomization folder (an overlay or a base) into its list of objects."""
    return sort_legacy(_build(Path(directory).resolve(), stack=()))


def sort_legacy(docs: list[Document]) -> list[Document]:
    """Order objects as `kustomize build` does by default (legacy order, then by id)."""
    return sorted(docs, key=lambda doc: (_kind_rank(str(doc.get("kind"))), _sort_id(doc)))


def _kind_rank(kind: str) -> int:
    if kind in ORDER_FIRST:
        return ORDER_FIRST.index(kind)
    if kind in ORDER_LAST:
        return len(ORDER_FIRST) + 1 + ORDER_LAST.index(kind)
    return len(ORDER_FIRST)


def _sort_id(doc: Document) -> tuple[str, ...]:
    group, kind, namespace, name = resource_id(doc)
    return str(doc.get("apiVersion", "")), kind, namespace, name, group


def _build(directory: Path, stack: tuple[Path, ...]) -> list[Document]:
    if directory in stack:
        raise ConfigError(f"{directory}: kustomization cycle through {' -> '.join(map(str, stack))}")
    path = find_kustomization(directory)
    spec = load_yaml(path) or {}
    if not isinstance(spec, dict):
        raise ConfigError(f"{path}: a kustomization must be a mapping")
    unsupported = sorted(set(spec) - SUPPORTED_FIELDS)
    if unsupported:
        raise ConfigError(f"{path}: unsupported kustomize field(s) {', '.join(unsupported)}",
                          hint="render with `kubectl kustomize`, or extend harness/k8s/kustomize.py")
    docs = _accumulate(path, spec, (*stack, directory))
    docs = _apply_patches(path, spec, docs)
    docs = _set_namespace(spec.get("namespace"), docs)
    docs = _add_labels(path, spec.get("labels", []), docs)
    docs = _apply_json6902_legacy(path, spec.get("patchesJson6902", []), docs)
    return _set_images(path, spec.get("images", []), docs)


def _accumulate(path: Path, spec: dict[str, Any], stack: tuple[Path, ...]) -> list[Document]:
    docs: list[Document] = []
    for entry in _str_list(path, spec, "bases") + _str_list(path, spec, "resources"):
        if "://" in entry or entry.startswith("git@") or entry.startswith("github.com/"):
            raise ConfigError(f"{path}: remote resource {entry!r} is not supported")
        target = (path.parent / entry).resolve()
        docs.extend(_build(target, stack) if target.is_dir() else load_documents(target))
    seen: set[tuple[str, str, str, str]] = set()
    for doc in docs:
        if resource_id(doc) in seen:
            raise ConfigError(f"{path}: duplicate resource {'/'.join(resource_id(doc))}")
        seen.add(resource_id(doc))
    return docs


def _str_list(path: Path, spec: dict[str, Any], field: str) -> list[str]:
    value = spec.get(field, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{path}: {field} must be a list of strings")
    return list(value)


def _apply_patches(path: Path, spec: dict[str, Any], docs: list[Document]) -> list[Document]:
    for entry in _str_list(path, spec, "patchesStrategicMerge"):
        docs = _patch_all(path, _load_patch(path, {"path": entry}), None, docs)
    for entry in spec.get("patches", []):
        if not isinstance(entry, dict) or set(entry) - {"path", "patch", "target", "options"}:
            raise ConfigError(f"{path}: patches entry must have path or patch (and target): {entry!r}")
        if entry.get("options"):
            raise ConfigError(f"{path}: patch options are not supported")
        docs = _patch_all(path, _load_patch(path, entry), entry.get("target"), docs)
    return docs


def _apply_json6902_legacy(path: Path, entries: list[Any], docs: list[Document]) -> list[Document]:
    for entry in entries:
        if not isinstance(entry, dict) or "target" not in entry:
            raise ConfigError(f"{path}: patchesJson6902 entry needs a target: {entry!r}")
        docs = _patch_all(path, _load_patch(path, entry), entry["target"], docs)
    return docs


def _load_patch(path: Path, entry: dict[str, Any]) -> list[Any]:
    """The patches of one entry: one JSON 6902 list, or one or more strategic-merge objects."""
    if "path" in entry:
        source = path.parent / str(entry["path"])
        try:
            text = source.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise ConfigError(f"{path}: patch file {entry['path']} not found") from exc
        return parse_yaml_stream(text, str(source))
    if "patch" in entry:
        return parse_yaml_stream(str(entry["patch"]), f"{path}: inline patch")
    raise ConfigError(f"{path}: patch entry needs 'path' or 'patch'")


def _patch_all(path: Path, patches: list[Any], target: Any, docs: list[Document]) -> list[Document]:
    if not patches:
        raise ConfigError(f"{path}: empty patch")
    for patch in patches:
        docs = _patch(path, patch, target, docs)
    return docs


def _patch(path: Path, patch: Any, target: Any, docs: list[Document]) -> list[Document]:
    if not isinstance(patch, (dict, list)):
        raise ConfigError(f"{path}: a patch must be an object (strategic merge) or a list (JSON 6902)")
    selector = _selector(path, target, patch)
    matched = [i for i, doc in enumerate(docs) if _matches(selector, doc)]
    if not matched:
        raise ConfigError(f"{path}: patch target {selector} matches no resource")
    patched = list(docs)
    for index in matched:
        if isinstance(patch, list):
            patched[index] = json6902(docs[index], patch, str(path))
        else:
            body = {k: v for k, v in patch.items() if k not in ("apiVersion", "kind")}
            if target is not None and set(body.get("metadata", {})) <= {"name"}:
                body.pop("metadata", None)  # with an explicit target the patch's own name is moot
            patched[index] = strategic_merge(docs[index], body, str(path))
    return patched


def _selector(path: Path, target: Any, patch: Any) -> dict[str, str]:
    if target is None:
        if not isinstance(patch, dict) or "kind" not in patch:
            raise ConfigError(f"{path}: a patch without target must be an object with kind and name")
        group, kind, namespace, name = resource_id(patch)
        found = {"group": group, "kind": kind, "name": name}
        return found | ({"namespace": namespace} if namespace else {})
    if not isinstance(target, dict):
        raise ConfigError(f"{path}: patch target must be a mapping")
    unsupported = set(target) - {"group", "version", "kind", "name", "namespace"}
    if unsupported:
        raise ConfigError(f"{path}: unsupported patch target field(s) {', '.join(sorted(unsupported))}")
    return {key: str(value) for key, value in target.items()}


def _matches(selector: dict[str, str], doc: Document) -> bool:
    group, kind, namespace, name = resource_id(doc)
    version = str(doc.get("apiVersion", "")).rpartition("/")[2]
    actual = {"group": group, "version": version, "kind": kind, "namespace": namespace, "name": name}
    return all(re.fullmatch(expected, actual[key]) is not None for key, expected in selector.items())


def _set_namespace(namespace: Any, docs: list[Document]) -> list[Document]:
    if not namespace:
        return docs
    out = []
    for doc in docs:
        meta = dict(doc.get("metadata") or {})
        if doc.get("kind") == "Namespace":
            meta["name"] = str(namespace)
        elif doc.get("kind") not in CLUSTER_SCOPED_KINDS:
            meta["namespace"] = str(namespace)
        out.append(doc | {"metadata": meta})
    return out


def _add_labels(path: Path, entries: Any, docs: list[Document]) -> list[Document]:
    pairs: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else [entries]:
        if not isinstance(entry, dict) or set(entry) - {"pairs", "includeSelectors", "includeTemplates"}:
            raise ConfigError(f"{path}: labels entries support pairs/includeSelectors/includeTemplates")
        if entry.get("includeSelectors") or entry.get("includeTemplates"):
            raise ConfigError(f"{path}: labels with includeSelectors/includeTemplates are not supported")
        pairs.update({str(k): str(v) for k, v in (entry.get("pairs") or {}).items()})
    if not pairs:
        return docs
    out = []
    for doc in docs:
        meta = dict(doc.get("metadata") or {})
        meta["labels"] = dict(meta.get("labels") or {}) | pairs
        out.append(doc | {"metadata": meta})
    return out


def _set_images(path: Path, images: Any, docs: list[Document]) -> list[Document]:
    if not images:
        return docs
    for image in images:
        if not isinstance(image, dict) or "name" not in image:
            raise ConfigError(f"{path}: images entries need a name")
        if set(image) - {"name", "newName", "newTag", "digest"}:
            raise ConfigError(f"{path}: images entry {image['name']!r} uses unsupported fields")
        if "newTag" in image and "digest" in image:
            raise ConfigError(f"{path}: images entry {image['name']!r} sets both newTag and digest")
    return [_retag(doc, images) for doc in docs]


def _retag(node: Any, images: list[dict[str, Any]]) -> Any:
    if isinstance(node, list):
        return [_retag(item, images) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _retag(value, images) for key, value in node.items()}
    if isinstance(out.get("image"), str) and "name" in out:
        out["image"] = _new_image(out["image"], images)
    return out


def _new_image(reference: str, images: list[dict[str, Any]]) -> str:
    name, tag, digest = split_image(reference)
    for image in images:
        if image["name"] != name:
            continue
        name = str(image.get("newName", name))
        if "digest" in image:
            return f"{name}@{image['digest']}"
        if "newTag" in image:
            return f"{name}:{image['newTag']}"
        return name + (f"@{digest}" if digest else f":{tag}" if tag else "")
    return reference


def split_image(reference: str) -> tuple[str, str, str]:
    """(name, tag, digest) of an image reference; empty strings for the missing parts."""
    name, _, digest = reference.partition("@")
    head, sep, tag = name.rpartition(":")
    if sep and "/" not in tag:
        return head, tag, digest
    return name, "", digest
