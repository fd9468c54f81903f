"""Decide a file's type from its first bytes, against an allowlist; the client's claim must agree."""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from easy_upload.errors import UnsupportedType

SNIFF_BYTES = 1024


@dataclass(frozen=True, slots=True)
class FileType:
    """An allowed type: its MIME type, family (image, pdf, text) and the extension we store it with."""

    mime: str
    family: str
    ext: str


PNG = FileType("image/png", "image", "png")
JPEG = FileType("image/jpeg", "image", "jpg")
WEBP = FileType("image/webp", "image", "webp")
GIF = FileType("image/gif", "image", "gif")
PDF = FileType("application/pdf", "pdf", "pdf")
TEXT = FileType("text/plain", "text", "txt")
CSV = FileType("text/csv", "text", "csv")
JSON = FileType("application/json", "text", "json")
ALLOWED: dict[str, FileType] = {t.mime: t for t in (PNG, JPEG, WEBP, GIF, PDF, TEXT, CSV, JSON)}

# Claims a client may make that carry no information: the bytes decide.
_NEUTRAL_CLAIMS = {"", "application/octet-stream", "binary/octet-stream"}
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "application/vnd.ms-excel": "text/csv",
    "text/json": "application/json",
    "application/csv": "text/csv",
}
_JSON_STARTS = {bytes([c]) for c in b'{["-0123456789'}
_JSON_WORDS = (b"true", b"false", b"null")
_TEXT_BY_EXT = {"csv": CSV, "json": JSON, "txt": TEXT, "text": TEXT, "log": TEXT, "md": TEXT}


def _magic(head: bytes) -> FileType | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head.startswith(b"%PDF-"):
        return PDF
    return None


def looks_like_text(head: bytes, complete: bool) -> bool:
    """UTF-8 without NUL or other C0 controls (tab, newlines and form feed are fine)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        text = decoder.decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    return not any((ord(ch) < 32 and ch not in "\t\n\r\f") or ch == "\x7f" for ch in text)


def _json_start(text: bytes) -> bool:
    if text[:1] in _JSON_STARTS:
        return True
    word = text[:5].split()[0] if text.strip() else b""
    return bool(word) and any(w.startswith(word) or word.startswith(w) for w in _JSON_WORDS)


def _text_type(head: bytes, claim: str, filename: str) -> FileType:
    if claim in ALLOWED and ALLOWED[claim].family == "text":
        chosen = ALLOWED[claim]
    else:
        chosen = _TEXT_BY_EXT.get(filename.rpartition(".")[2].lower(), TEXT)
    if chosen is JSON and not _json_start(head.lstrip(b"\xef\xbb\xbf \t\r\n")):
        raise UnsupportedType("content does not look like JSON")
    return chosen


def normalise_claim(content_type: str | None) -> str:
    """The MIME type a client declared, lower-cased, without parameters, aliases resolved."""
    claim = (content_type or "").split(";", 1)[0].strip().lower()
    return _ALIASES.get(claim, claim)


def detect_type(head: bytes, *, claimed: str | None, filename: str, complete: bool) -> FileType:
    """Return the allowed type of ``head`` or raise UnsupportedType (also when the claim disagrees).

    ``complete`` says ``head`` is the whole file (so a cut multi-byte character is an error).
    """
    claim = normalise_claim(claimed)
    if not head:
        raise UnsupportedType("empty file")
    found = _magic(head)
    if found is None:
        if not looks_like_text(head, complete):
            raise UnsupportedType("file type is not allowed")
        found = _text_type(head, claim, filename)
    if claim not in _NEUTRAL_CLAIMS and (claim not in ALLOWED or ALLOWED[claim] != found):
        raise UnsupportedType(f"declared type {claim!r} does not match the content ({found.mime})")
    return found
