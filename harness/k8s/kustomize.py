"""Render kustomizations with the real kustomize: ``kustomize build DIR`` when a ``kustomize`` binary
is on PATH, else ``kubectl kustomize DIR`` (kubectl carries kustomize, on GitHub runners too).

There is no look-alike to fall back to: without either binary :func:`kustomize_engine` raises a
StageError naming both and how to get them; a kustomization kustomize rejects is a ConfigError that
names the overlay and quotes kustomize's own message.

:func:`render_with_origins` renders through a throw-away wrapper kustomization that asks kustomize
for ``buildMetadata: [originAnnotations]``, so each object says which file declared it (kustomize's
``config.kubernetes.io/origin`` annotation, see kustomize's api/internal/builtins and the
"buildMetadata" section of the kustomization reference); the annotation is removed again so the
objects are exactly what ``kubectl kustomize`` prints for the overlay itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigError, StageError
from harness.k8s.documents import Document

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
ORIGIN_ANNOTATION = "config.kubernetes.io/origin"
TIMEOUT_S = 120
INSTALL_HINT = ("install kubectl (it includes kustomize: https://kubernetes.io/docs/tasks/tools/) or a "
                "kustomize binary (https://kubectl.docs.kubernetes.io/installation/kustomize/) on PATH")
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class KustomizeEngine:
    """The kustomize that renders: its command prefix and its version (``kustomize v5.5.0``)."""

    command: tuple[str, ...]
    version: str

    def build(self, directory: Path) -> str:
        """The rendered YAML stream of one kustomization; ConfigError with kustomize's message."""
        try:
            done = subprocess.run([*self.command, str(directory)], capture_output=True, text=True,
                                  timeout=TIMEOUT_S, check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise ConfigError(f"{directory}: kustomize did not finish within {TIMEOUT_S} s") from None
        if done.returncode != 0:
            raise ConfigError(f"{directory}: kustomize failed: {_last_error(done.stderr)}")
        return done.stdout


@dataclass(frozen=True, slots=True)
class Rendered:
    """One rendered object and the file that declared it (None: generated or remote)."""

    document: Document
    origin: Path | None


@cache
def kustomize_engine() -> KustomizeEngine:
    """The kustomize on this machine (looked up once); StageError when there is none."""
    standalone = shutil.which("kustomize")
    if standalone:
        return KustomizeEngine((standalone, "build"), f"kustomize {_standalone_version(standalone)}")
    kubectl = shutil.which("kubectl")
    if kubectl:
        return KustomizeEngine((kubectl, "kustomize"), f"kustomize {_kubectl_kustomize_version(kubectl)}")
    raise StageError("kustomize not found: neither `kustomize` nor `kubectl` is on PATH", hint=INSTALL_HINT)


def find_kustomization(directory: Path) -> Path:
    """The kustomization file of a folder; ConfigError when there is none."""
    for name in KUSTOMIZATION_FILES:
        if (directory / name).is_file():
            return directory / name
    raise ConfigError(f"{directory}: no kustomization.yaml")


def render_overlay(directory: str | Path) -> list[Document]:
    """Render a kustomization folder (an overlay or a base) into its list of objects, exactly as
    ``kubectl kustomize DIR`` prints them."""
    path = Path(directory)
    find_kustomization(path)
    return parse_stream(kustomize_engine().build(path), str(path))


def render_with_origins(directory: str | Path) -> list[Rendered]:
    """Render like :func:`render_overlay`, each object with the file that declared it."""
    path = Path(directory).absolute()
    find_kustomization(path)
    with tempfile.TemporaryDirectory(prefix="harness-kustomize-") as tmp:
        wrapper = Path(tmp)
        relative = os.path.relpath(path, wrapper)
        (wrapper / "kustomization.yaml").write_text(json.dumps(
            {"resources": [relative], "buildMetadata": ["originAnnotations"]}), encoding="utf-8")
        try:
            text = kustomize_engine().build(wrapper)
        except ConfigError:  # kustomize's own words about the user's overlay, not the wrapper
            kustomize_engine().build(path)
            raise
        return [Rendered(doc, _pop_origin(doc, wrapper)) for doc in parse_stream(text, str(path))]


def parse_stream(text: str, source: str) -> list[Document]:
    """The mapping documents of a YAML stream kustomize or helm printed."""
    try:
        return [d for d in yaml.load_all(text, Loader=_LOADER) if isinstance(d, dict)]
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: the rendered output is not YAML: {exc}") from exc


def _pop_origin(doc: Document, wrapper: Path) -> Path | None:
    meta = doc.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict) or ORIGIN_ANNOTATION not in annotations:
        return None
    origin = yaml.load(str(annotations.pop(ORIGIN_ANNOTATION)), Loader=_LOADER)
    if not annotations and isinstance(meta, dict):
        del meta["annotations"]
    if not isinstance(origin, dict) or "repo" in origin or not origin.get("path"):
        return None  # a remote base, or a generator (configuredIn) rather than a file
    return Path(os.path.normpath(wrapper / str(origin["path"])))


def _last_error(stderr: str) -> str:
    """kustomize's message without klog's prefix (kubectl wraps it in ``run.go ... err="..."``)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return "no message"
    last = lines[-1]
    if 'err="' in last:
        last = last.split('err="', 1)[1].rstrip('"')
    return last.removeprefix("Error: ").removeprefix("error: ")


def _standalone_version(binary: str) -> str:
    out = _output([binary, "version"])
    return out.strip().rsplit("/", 1)[-1].strip("{} ") or "(unknown version)"


def _kubectl_kustomize_version(kubectl: str) -> str:
    try:
        info: Any = json.loads(_output([kubectl, "version", "--client", "-o", "json"]))
    except json.JSONDecodeError:
        return "(unknown version)"
    kustomize = info.get("kustomizeVersion") if isinstance(info, dict) else None
    client = (info.get("clientVersion") or {}).get("gitVersion") if isinstance(info, dict) else None
    return f"{kustomize or '(unknown version)'} (kubectl {client or '?'})"


def _output(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False,
                              stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


__all__ = ["KUSTOMIZATION_FILES", "KustomizeEngine", "Rendered", "find_kustomization", "kustomize_engine",
           "parse_stream", "render_overlay", "render_with_origins"]
