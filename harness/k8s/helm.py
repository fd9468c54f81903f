"""Helm charts: found by their ``Chart.yaml`` and rendered with the real ``helm template`` when
helm is on PATH. Their templates are Go templates, not YAML, so nothing else may read them as
manifests; without helm a chart is not checked, and callers say so (never a quiet pass)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from harness.errors import ConfigError
from harness.k8s.documents import Document
from harness.k8s.kustomize import parse_stream

CHART_FILE = "Chart.yaml"
INSTALL_HINT = "install helm (https://helm.sh/docs/intro/install/) to render and check Helm charts"
TIMEOUT_S = 120
_SOURCE = re.compile(r"^# Source: (.+)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class HelmEngine:
    binary: str
    version: str  # "helm v3.16.2"


@dataclass(frozen=True, slots=True)
class ChartObject:
    """One object ``helm template`` rendered, and its template file (relative to the chart's parent
    folder, as helm writes it: ``mychart/templates/service.yaml``)."""

    document: Document
    template: str | None


@cache
def helm_engine() -> HelmEngine | None:
    """The helm on PATH, or None."""
    binary = shutil.which("helm")
    if binary is None:
        return None
    try:
        out = subprocess.run([binary, "version", "--short"], capture_output=True, text=True, timeout=30,
                             check=False, stdin=subprocess.DEVNULL).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    return HelmEngine(binary, f"helm {out.split('+', 1)[0] or '(unknown version)'}")


def find_charts(files: Iterable[Path]) -> list[Path]:
    """Chart folders among ``files`` (by their Chart.yaml), outermost only: a subchart under
    ``charts/`` is rendered by its parent."""
    found = sorted({f.parent for f in files if f.name == CHART_FILE}, key=lambda p: len(p.parts))
    outer: list[Path] = []
    for chart in found:
        if not any(chart.is_relative_to(parent) for parent in outer):
            outer.append(chart)
    return sorted(outer)


def render_chart(engine: HelmEngine, chart: Path) -> list[ChartObject]:
    """``helm template <chart name> <chart>`` with the chart's default values."""
    command = [engine.binary, "template", chart.name, str(chart)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{chart}: helm template did not finish within {TIMEOUT_S} s") from None
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no message"
        raise ConfigError(f"{chart}: helm template failed: {message.removeprefix('Error: ')}")
    return [obj for chunk in re.split(r"^---\s*$", done.stdout, flags=re.MULTILINE)
            for obj in _objects(chunk, str(chart))]


def _objects(chunk: str, source: str) -> list[ChartObject]:
    match = _SOURCE.search(chunk)
    template = match.group(1).strip() if match else None
    return [ChartObject(doc, template) for doc in parse_stream(chunk, source)]


__all__ = ["CHART_FILE", "ChartObject", "HelmEngine", "find_charts", "helm_engine", "render_chart"]
