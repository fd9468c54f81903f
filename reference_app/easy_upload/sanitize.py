"""Client filenames: made harmless, kept only as metadata (object keys are server-generated)."""

from __future__ import annotations

import re
import unicodedata

MAX_FILENAME_BYTES = 200
FALLBACK_NAME = "upload"
_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*;`$]')
_SPACES = re.compile(r"\s+")


def _drop_invisible(name: str) -> str:
    # Cf covers bidi overrides (U+202E) that make "gpj.exe" look like "exe.jpg".
    return "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn"})


def _truncate_utf8(name: str, limit: int) -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext.encode()) > 16:
        stem, ext = name, ""
    budget = limit - (len(ext.encode()) + 1 if ext else 0)
    cut = stem.encode()[:budget].decode("utf-8", "ignore")
    return f"{cut}.{ext}" if ext else cut


def sanitize_filename(raw: str | None) -> str:
    """Return a display-safe file name: no path, no control or bidi characters, bounded length."""
    name = unicodedata.normalize("NFKC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = _FORBIDDEN.sub("_", _drop_invisible(name))
    name = _SPACES.sub(" ", name).strip(" .")
    if len(name.encode()) > MAX_FILENAME_BYTES:
        name = _truncate_utf8(name, MAX_FILENAME_BYTES).strip(" .")
    return name or FALLBACK_NAME
