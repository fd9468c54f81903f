"""The evidence bundle: ``reports/<run-id>.tar.gz`` with a ``SHA256SUMS`` manifest.

The archive holds the whole run directory under ``<run-id>/`` (results.json, raw tool outputs,
logs, reports) plus ``<run-id>/SHA256SUMS`` in ``sha256sum`` format, so a reviewer can check it
with ``tar xzf <run-id>.tar.gz && cd <run-id> && sha256sum -c SHA256SUMS`` or with
:func:`verify_bundle`. The archive is reproducible (sorted members, fixed mtimes and owners), and
its own SHA-256 is written next to it (``<run-id>.tar.gz.sha256``) for pinning in a review.
The manifest proves the files agree with each other; pin the archive's hash to prove the manifest.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from harness.errors import ReportError
from harness.results import RunRecord

MANIFEST = "SHA256SUMS"
_EPOCH = 315532800  # 1980-01-01, as zip/wheel tools do: timestamps would make bundles differ


@dataclass(slots=True)
class BundleCheck:
    """What :func:`verify_bundle` found; ``ok`` only if every file matches and none is unlisted."""

    path: Path
    checked: int = 0
    mismatched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.checked > 0 and not (self.mismatched or self.missing or self.unlisted)

    def describe(self) -> str:
        if self.ok:
            return f"{self.path}: {self.checked} file(s) match {MANIFEST}"
        problems = {"altered": self.mismatched, "missing": self.missing, "not in manifest": self.unlisted}
        parts = [f"{name} ({', '.join(files)})" for name, files in problems.items() if files]
        return f"{self.path}: does NOT match {MANIFEST}: " + "; ".join(parts or ["no files"])


class BundleReporter:
    """The ``bundle`` reporter slot; register it last so the bundle holds every other report."""

    NAME = "bundle"

    def write(self, record: RunRecord, run_dir: Path) -> Path:
        return write_bundle(run_dir)


def write_bundle(run_dir: Path, *, output: Path | None = None) -> Path:
    """Pack ``run_dir`` into ``<parent>/<run-id>.tar.gz`` with a SHA256SUMS manifest."""
    if not (run_dir / "results.json").is_file():
        raise ReportError(f"{run_dir} has no results.json: not a run directory")
    files = _run_files(run_dir)
    manifest = "".join(f"{_sha256(run_dir / rel)}  {rel}\n" for rel in files).encode()
    target = output or run_dir.parent / f"{run_dir.name}.tar.gz"
    with (
        target.open("wb") as out,
        gzip.GzipFile(filename="", fileobj=out, mode="wb", mtime=0) as packed,
        tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        _add(tar, f"{run_dir.name}/{MANIFEST}", io.BytesIO(manifest), len(manifest))
        for rel in files:
            with (run_dir / rel).open("rb") as handle:
                _add(tar, f"{run_dir.name}/{rel}", handle, (run_dir / rel).stat().st_size)
    pin = f"{hashlib.sha256(target.read_bytes()).hexdigest()}  {target.name}\n"
    target.with_name(target.name + ".sha256").write_text(pin, encoding="utf-8")
    return target


def verify_bundle(path: Path) -> BundleCheck:
    """Check every file in the bundle against its SHA256SUMS (altered, missing, unlisted files)."""
    check = BundleCheck(path)
    try:
        contents = _read_members(path)
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise ReportError(f"{path} is not a readable bundle: {exc}") from exc
    manifests = [name for name in contents
                 if PurePosixPath(name).name == MANIFEST and len(PurePosixPath(name).parts) == 2]
    if len(manifests) != 1:
        raise ReportError(f"{path} has no single <run-id>/{MANIFEST}; cannot verify it")
    root = PurePosixPath(manifests[0]).parent
    expected = _parse_manifest(contents.pop(manifests[0]).decode("utf-8", "replace"), path)
    outside = [name for name in contents if not PurePosixPath(name).is_relative_to(root)]
    actual = {PurePosixPath(name).relative_to(root).as_posix(): data
              for name, data in contents.items() if name not in outside}
    check.unlisted = sorted(outside + [rel for rel in actual if rel not in expected])
    for rel, digest in sorted(expected.items()):
        if rel not in actual:
            check.missing.append(rel)
        elif hashlib.sha256(actual[rel]).hexdigest() != digest:
            check.mismatched.append(rel)
        check.checked += 1
    return check


def _run_files(run_dir: Path) -> list[str]:
    """Regular files under the run directory (symlinks skipped: they could point anywhere)."""
    return [path.relative_to(run_dir).as_posix() for path in sorted(run_dir.rglob("*"))
            if path.is_file() and not path.is_symlink() and path.name != MANIFEST]


def _add(tar: tarfile.TarFile, name: str, data: BinaryIO, size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = _EPOCH
    info.mode = 0o644
    info.uname = info.gname = ""
    tar.addfile(info, data)


def _read_members(path: Path) -> dict[str, bytes]:
    contents: dict[str, bytes] = {}
    with tarfile.open(path, mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                extracted = tar.extractfile(member)
                contents[member.name] = extracted.read() if extracted else b""
            elif not member.isdir():
                contents[member.name] = b""  # links and devices are never in a bundle we wrote
    return contents


def _parse_manifest(text: str, path: Path) -> dict[str, str]:
    expected: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            raise ReportError(f"{path}: {MANIFEST} line {number} is malformed: {line!r}")
        expected[name.removeprefix("*")] = digest.lower()
    return expected


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


__all__ = ["MANIFEST", "BundleCheck", "BundleReporter", "verify_bundle", "write_bundle"]
