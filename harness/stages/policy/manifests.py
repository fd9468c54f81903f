"""Kubernetes inputs of the policy stage: kustomize overlays rendered by the real kustomize, Helm
charts rendered by ``helm template`` (or reported skipped without helm), plain YAML files as they
are. Every object carries a source map, so a finding points at the line that wrote the field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from harness.k8s.helm import INSTALL_HINT as HELM_HINT
from harness.k8s.helm import find_charts, helm_engine, render_chart
from harness.k8s.kustomize import KUSTOMIZATION_FILES, Rendered, kustomize_engine, render_with_origins
from harness.k8s.origins import OriginMapper
from harness.k8s.sourcemap import SourceMap, compose_file, construct, line
from harness.stages.policy.model import K8sDoc

if TYPE_CHECKING:
    from harness.stages.policy.inputs import Sources

YAML_SUFFIXES = (".yaml", ".yml")
MAX_RENDERERS = 4  # kustomize processes at once; each is mostly waiting on its own I/O


def load_manifests(sources: Sources, files: Sequence[Path]) -> None:
    """Load every Kubernetes object under the manifest folders (``files`` = their files)."""
    charts = find_charts(files)
    plain = [f for f in files if not any(f.is_relative_to(c) for c in charts)]
    yaml_files = [p for p in plain if p.suffix in YAML_SUFFIXES or p.name == "Kustomization"]
    kustomize_dirs = {p.parent for p in yaml_files if p.name in KUSTOMIZATION_FILES}
    used = _render_overlays(sources, _kustomize_roots(kustomize_dirs))
    in_kustomizations = [p for p in yaml_files if any(p.is_relative_to(d) for d in kustomize_dirs)]
    unused = [p for p in in_kustomizations if p not in used]
    if unused:
        sources.skipped.append((sources.rel(unused[0]), "in a kustomization folder but used by no "
                                "kustomization, so never rendered or checked: "
                                + ", ".join(sources.rel(p) for p in unused)))
    not_k8s = [p for p in yaml_files if p not in in_kustomizations and not _load_raw(sources, p)]
    if not_k8s:
        sources.skipped.append((sources.rel(not_k8s[0]), "YAML without any Kubernetes object (no kind and "
                                "apiVersion): " + ", ".join(sources.rel(p) for p in not_k8s)))
    _render_charts(sources, charts)


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
            try:
                data = yaml.safe_load((directory / name).read_text(encoding="utf-8"))
            except yaml.YAMLError:
                return {}  # kustomize reports it when it renders this folder
            return data if isinstance(data, dict) else {}
    return {}


# --- kustomize ------------------------------------------------------------------------------------


def _render_overlays(sources: Sources, overlays: list[Path]) -> set[Path]:
    """Render every overlay (in parallel: each is a kustomize process); the files they used."""
    if not overlays:
        return set()
    engine = kustomize_engine()  # no kustomize: a StageError, never a quiet skip
    sources.renderers.add(engine.version)
    with ThreadPoolExecutor(max_workers=min(MAX_RENDERERS, len(overlays))) as pool:
        outcomes = list(pool.map(_render, overlays))
    used: set[Path] = set()
    for overlay, outcome in zip(overlays, outcomes, strict=True):
        group = sources.rel(overlay)
        if isinstance(outcome, Exception):  # a broken overlay is reported; the others are checked
            sources.problems.append((group, f"cannot render kustomization: {outcome}"))
            continue
        mapper = OriginMapper(overlay, sources.rel)
        sources.inputs.k8s[group] = [_rendered_doc(mapper, r, group, engine.version) for r in outcome]
        used |= mapper.tree.used_files() if mapper.tree else set()
    return used


def _render(overlay: Path) -> list[Rendered] | Exception:
    try:
        return render_with_origins(overlay)
    except Exception as exc:  # returned, not raised: one overlay must not hide the others
        return exc


def _rendered_doc(mapper: OriginMapper, rendered: Rendered, group: str, engine: str) -> K8sDoc:
    source = mapper.source_map(rendered)
    return K8sDoc(rendered.document, f"{source.file}:{source.start}", group, source, engine)


# --- plain YAML -----------------------------------------------------------------------------------


def _load_raw(sources: Sources, path: Path) -> bool:
    """Load the Kubernetes objects of one plain YAML file; whether it had any."""
    rel = sources.rel(path)
    try:
        nodes = compose_file(path)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        sources.problems.append((rel, f"invalid YAML: {exc}"))
        return True  # reported as an error, not as "no Kubernetes object"
    group = sources.rel(path.parent)
    found = []
    for node in nodes:
        data = construct(node)
        if isinstance(data, dict) and "kind" in data and "apiVersion" in data:
            found.append(K8sDoc(data, f"{rel}:{line(node)}", group, SourceMap(rel, line(node), node, data)))
    if found:
        sources.raw_manifests.append(path)
        sources.inputs.k8s.setdefault(group, []).extend(found)
    return bool(found)


# --- Helm -----------------------------------------------------------------------------------------


def _render_charts(sources: Sources, charts: Iterable[Path]) -> None:
    charts = list(charts)
    if not charts:
        return
    engine = helm_engine()
    if engine is None:
        sources.skipped.append((sources.rel(charts[0]), "Helm chart(s) not rendered, so not checked: helm is "
                                f"not on PATH ({HELM_HINT}): " + ", ".join(sources.rel(c) for c in charts)))
        return
    sources.renderers.add(engine.version)
    for chart in charts:
        group = sources.rel(chart)
        try:
            objects = render_chart(engine, chart)
        except Exception as exc:  # a chart helm cannot render is reported; the others are checked
            sources.problems.append((group, f"cannot render Helm chart: {exc}"))
            continue
        docs = []
        for obj in objects:
            template = chart.parent / obj.template if obj.template else chart / "Chart.yaml"
            where = f"{sources.rel(template)}:{_kind_line(template, str(obj.document.get('kind', '')))}"
            docs.append(K8sDoc(obj.document, where, group, None, engine.version))
        sources.inputs.k8s[group] = docs


def _kind_line(template: Path, kind: str) -> int:
    """The line of ``kind: <Kind>`` in a template (helm keeps no line map of its output)."""
    try:
        text = template.read_text(encoding="utf-8")
    except OSError:
        return 1
    match = re.search(rf"^\s*kind:\s*[\"']?{re.escape(kind)}[\"']?\s*$", text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else 1


__all__ = ["load_manifests"]
