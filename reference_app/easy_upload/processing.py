"""Deterministic processing of one file: pure functions from input bytes to artifacts + manifest.

images   re-encoded from pixels only (EXIF, XMP, ICC, text chunks gone) + a 256 px PNG thumbnail
pdf      pages copied into a fresh document (no document info, no XMP), page count recorded
text     validated as UTF-8 (CSV parsed, JSON parsed) and gzip-compressed (mtime 0)
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from PIL import Image, ImageOps, UnidentifiedImageError

from easy_upload.errors import ProcessingError
from easy_upload.sniff import ALLOWED, FileType

PROCESSOR_VERSION = 1
THUMBNAIL_SIZE = (256, 256)
MAX_IMAGE_PIXELS = 64_000_000
MAX_JSON_BYTES = 64 * 1024 * 1024
CHUNK = 1024 * 1024
_PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP", "image/gif": "GIF"}

Progress = Callable[[int, str], None]


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


def _pixels_only(img: Image.Image) -> Image.Image:
    clean = Image.new(img.mode, img.size)
    clean.frombytes(img.tobytes())
    if img.mode == "P" and img.palette is not None:
        clean.putpalette(img.getpalette() or [])
    return clean


def _encode(img: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG" and img.mode not in {"RGB", "L", "CMYK"}:
        img = img.convert("RGB")
    options: dict[str, Any] = {"JPEG": {"quality": 90}, "WEBP": {"quality": 90, "method": 4}}.get(fmt, {})
    img.save(out, format=fmt, **options)
    return out.getvalue()


def _thumbnail(img: Image.Image) -> bytes:
    thumb = img.convert("RGBA" if "A" in img.getbands() or img.mode == "P" else "RGB")
    thumb.thumbnail(THUMBNAIL_SIZE)
    out = io.BytesIO()
    thumb.save(out, format="PNG")
    return out.getvalue()


def process_image(payload: bytes, ftype: FileType, progress: Progress = _noop) -> Outcome:
    """Strip metadata by re-encoding the pixels; write a PNG thumbnail."""
    fmt = _PIL_FORMATS[ftype.mime]
    try:
        with Image.open(io.BytesIO(payload), formats=[fmt]) as opened:
            if opened.width * opened.height > MAX_IMAGE_PIXELS:
                raise ProcessingError("image has too many pixels")
            frames = getattr(opened, "n_frames", 1)
            opened.load()
            img = ImageOps.exif_transpose(opened) if fmt in {"JPEG", "WEBP", "PNG"} else opened.copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ProcessingError(f"cannot decode {ftype.mime}: {exc}") from exc
    progress(40, "decoded")
    clean = _pixels_only(img)
    result = Artifact.from_bytes(f"result.{ftype.ext}", ftype.mime, _encode(clean, fmt))
    progress(70, "re-encoded")
    thumb = Artifact.from_bytes("thumbnail.png", "image/png", _thumbnail(clean))
    facts = {"width": clean.width, "height": clean.height, "frames": frames}
    return Outcome(result, [thumb], facts)


def process_pdf(payload: bytes, progress: Progress = _noop) -> Outcome:
    """Copy the pages into a fresh PDF without document metadata; count them."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(payload), strict=False)
        if reader.is_encrypted:
            raise ProcessingError("encrypted PDFs are not accepted")
        pages = len(reader.pages)
        writer = PdfWriter()
        for page in reader.pages:
            writer.add_page(page)
        progress(60, "pages copied")
        writer.metadata = None
        # A fixed file identifier keeps the output byte-for-byte deterministic.
        writer._ID = None
        out = io.BytesIO()
        writer.write(out)
    except ProcessingError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise ProcessingError(f"cannot read PDF: {exc}") from exc
    if pages == 0:
        raise ProcessingError("PDF has no pages")
    result = Artifact.from_bytes("result.pdf", "application/pdf", out.getvalue())
    return Outcome(result, [], {"pages": pages})


def _count_text(reader: IO[str], ftype: FileType) -> dict[str, Any]:
    if ftype.mime == "text/csv":
        return {"rows": sum(1 for _ in csv.reader(reader, strict=True))}
    if ftype.mime == "application/json":
        document = reader.read(MAX_JSON_BYTES + 1)
        if len(document) > MAX_JSON_BYTES:
            raise ProcessingError("JSON document too large to validate")
        json.loads(document)
        return {"lines": document.count("\n")}
    return {"lines": sum(chunk.count("\n") for chunk in iter(lambda: reader.read(CHUNK), ""))}


def validate_text(src: IO[bytes], ftype: FileType) -> dict[str, Any]:
    """Check ``src`` is UTF-8 (and CSV/JSON parse); return facts for the manifest."""
    reader = io.TextIOWrapper(src, encoding="utf-8-sig", errors="strict", newline="")
    try:
        return _count_text(reader, ftype)
    except UnicodeDecodeError as exc:
        raise ProcessingError(f"not valid UTF-8: {exc.reason}") from exc
    except csv.Error as exc:
        raise ProcessingError(f"invalid CSV: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ProcessingError(f"invalid JSON: {exc.msg} at line {exc.lineno}") from exc
    finally:
        reader.detach()


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
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115
    src.seek(0)
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) as gz:
        while chunk := src.read(CHUNK):
            gz.write(chunk)
    size, sha = _digest(out)
    return Artifact(name, "application/gzip", out, size, sha)


def process_text(src: IO[bytes], ftype: FileType, progress: Progress = _noop) -> Outcome:
    """Validate as UTF-8 (CSV/JSON parsed too), then gzip."""
    src.seek(0)
    facts = validate_text(src, ftype)
    progress(50, "validated")
    return Outcome(gzip_stream(src, f"result.{ftype.ext}.gz"), [], facts)


def process(src: IO[bytes], mime: str, progress: Progress = _noop) -> Outcome:
    """Dispatch on the detected type; raise ProcessingError for a file that cannot be processed."""
    ftype = ALLOWED.get(mime)
    if ftype is None:
        raise ProcessingError(f"type {mime!r} is not processable")
    if ftype.family == "text":
        return process_text(src, ftype, progress)
    src.seek(0)
    payload = src.read()
    if ftype.family == "pdf":
        return process_pdf(payload, progress)
    return process_image(payload, ftype, progress)


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
