"""Deterministic processing of one file: pure functions from input bytes to artifacts + manifest.

images   re-encoded from pixels only (EXIF, XMP, ICC, text chunks gone) + a 256 px PNG thumbnail
pdf      pages copied into a fresh document (no document info, no XMP, no scripts or actions),
         page count recorded
text     validated as UTF-8 (CSV parsed, JSON parsed) and gzip-compressed (mtime 0)

Every decoder runs within the job's memory budget (``budget.py``): a file whose decoded form would
not fit fails with a reason before it is decoded.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from easy_upload import images, pdfs
from easy_upload.budget import JSON_FACTOR, MIB, Budget
from easy_upload.errors import ProcessingError
from easy_upload.images import Progress
from easy_upload.settings import Settings
from easy_upload.sniff import ALLOWED, FileType

PROCESSOR_VERSION = 2
CHUNK = 1024 * 1024
DEFAULT_BUDGET = Budget(Settings.job_memory_budget_mib * MIB)


@dataclass(slots=True)
class Artifact:
    """One output object: its name under the upload's prefix, type, and bytes (a seekable file)."""

    name: str
    content_type: str
    data: IO[bytes]
    size: int
    sha256: str

    @classmethod
    def from_bytes(cls, name: str, content_type: str, payload: bytes) -> Artifact:
        return cls(name, content_type, io.BytesIO(payload), len(payload), hashlib.sha256(payload).hexdigest())

    @classmethod
    def from_file(cls, name: str, content_type: str, data: IO[bytes]) -> Artifact:
        size, sha = _digest(data)
        return cls(name, content_type, data, size, sha)


@dataclass(slots=True)
class Outcome:
    """What processing produced: the main result, extra artifacts and manifest facts."""

    result: Artifact
    extras: list[Artifact] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        for art in (self.result, *self.extras):
            art.data.close()


def _noop(_percent: int, _stage: str) -> None:
    return None


def process_image(src: IO[bytes], ftype: FileType, budget: Budget, progress: Progress = _noop) -> Outcome:
    """Strip metadata by re-encoding the pixels; write a PNG thumbnail."""
    result, facts = images.process_image(src, ftype, budget, progress)
    thumb = Artifact.from_file("thumbnail.png", "image/png", facts.pop("thumbnail"))
    return Outcome(Artifact.from_file(f"result.{ftype.ext}", ftype.mime, result), [thumb], facts)


def process_pdf(src: IO[bytes], size: int, budget: Budget, progress: Progress = _noop) -> Outcome:
    """Copy the pages into a fresh PDF without metadata, scripts or actions; count them."""
    out, pages = pdfs.process_pdf(src, size, budget, progress)
    return Outcome(Artifact.from_file("result.pdf", "application/pdf", out), [], {"pages": pages})


def _json_facts(reader: IO[str], size: int, budget: Budget) -> dict[str, Any]:
    budget.check(size * JSON_FACTOR, "this JSON document")
    document = reader.read()
    # Validation only: the hooks keep numbers unconverted (a 5000-digit integer is valid JSON, but
    # int() refuses it) and objects unbuilt (less memory); arrays are still built.
    try:
        json.loads(document, object_pairs_hook=_none, parse_int=_none, parse_float=_none)
    except RecursionError as exc:
        raise ProcessingError("invalid JSON: nested too deeply") from exc
    return {"lines": document.count("\n")}


def _none(*_args: Any) -> None:
    return None


def _csv_lines(reader: IO[str], limit: int) -> Iterator[str]:
    while line := reader.readline(limit + 1):
        if len(line) > limit:
            raise ProcessingError(f"invalid CSV: a line is longer than {limit} characters")
        yield line


def _count_text(reader: IO[str], ftype: FileType, size: int, budget: Budget) -> dict[str, Any]:
    if ftype.mime == "text/csv":
        return {"rows": sum(1 for _ in csv.reader(_csv_lines(reader, budget.max_csv_line), strict=True))}
    if ftype.mime == "application/json":
        return _json_facts(reader, size, budget)
    return {"lines": sum(chunk.count("\n") for chunk in iter(lambda: reader.read(CHUNK), ""))}


def validate_text(src: IO[bytes], ftype: FileType, size: int, budget: Budget) -> dict[str, Any]:
    """Check ``src`` is UTF-8 (and CSV/JSON parse); return facts for the manifest."""
    reader = io.TextIOWrapper(src, encoding="utf-8-sig", errors="strict", newline="")
    try:
        return _count_text(reader, ftype, size, budget)
    except UnicodeDecodeError as exc:
        raise ProcessingError(f"not valid UTF-8: {exc.reason}") from exc
    except csv.Error as exc:
        raise ProcessingError(f"invalid CSV: {_csv_reason(exc)}") from exc
    except json.JSONDecodeError as exc:
        raise ProcessingError(f"invalid JSON: {exc.msg} at line {exc.lineno}") from exc
    finally:
        reader.detach()


def _csv_reason(exc: csv.Error) -> str:
    """csv's own messages are fixed texts, but may quote a character of the input: keep it printable."""
    return "".join(ch if ch.isprintable() and ch.isascii() else "?" for ch in str(exc))[:200]


def _digest(data: IO[bytes]) -> tuple[int, str]:
    data.seek(0)
    digest = hashlib.sha256()
    while chunk := data.read(CHUNK):
        digest.update(chunk)
    size = data.tell()
    data.seek(0)
    return size, digest.hexdigest()


def gzip_stream(src: IO[bytes], name: str) -> Artifact:
    """Gzip ``src`` deterministically (no name, mtime 0) into a spooled temporary file."""
    out = images.spool()
    src.seek(0)
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) as gz:
        while chunk := src.read(CHUNK):
            gz.write(chunk)
    return Artifact.from_file(name, "application/gzip", out)


def process_text(src: IO[bytes], ftype: FileType, budget: Budget, progress: Progress = _noop) -> Outcome:
    """Validate as UTF-8 (CSV/JSON parsed too), then gzip."""
    size, _ = _digest(src)
    facts = validate_text(src, ftype, size, budget)
    progress(50, "validated")
    return Outcome(gzip_stream(src, f"result.{ftype.ext}.gz"), [], facts)


def process(
    src: IO[bytes], mime: str, progress: Progress = _noop, *, budget: Budget = DEFAULT_BUDGET
) -> Outcome:
    """Dispatch on the detected type; raise ProcessingError for a file that cannot be processed
    (including one that would need more memory than ``budget``)."""
    ftype = ALLOWED.get(mime)
    if ftype is None:
        raise ProcessingError(f"type {mime!r} is not processable")
    size, _ = _digest(src)
    if ftype.family == "text":
        return process_text(src, ftype, budget, progress)
    if ftype.family == "pdf":
        return process_pdf(src, size, budget, progress)
    return process_image(src, ftype, budget, progress)


def file_digest(src: IO[bytes]) -> tuple[int, str]:
    """(size, sha256 hex) of a seekable file, leaving it at position 0."""
    return _digest(src)


def manifest(upload_id: str, mime: str, original: tuple[int, str], outcome: Outcome) -> bytes:
    """The JSON manifest written next to the result: stable key order, no timestamps."""

    def describe(art: Artifact) -> dict[str, Any]:
        return {"name": art.name, "content_type": art.content_type, "size": art.size, "sha256": art.sha256}

    document = {
        "upload_id": upload_id,
        "detected_type": mime,
        "processor_version": PROCESSOR_VERSION,
        "original": {"size": original[0], "sha256": original[1]},
        "result": describe(outcome.result),
        "extras": [describe(extra) for extra in outcome.extras],
        **outcome.facts,
    }
    return json.dumps(document, sort_keys=True, indent=2).encode()
