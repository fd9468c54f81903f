"""How processed files leave: as attachments with the detected type (RFC 6266), never inline.

A PDF or an image served inline runs in the storage origin's context (PDF viewers execute
scripts); ``attachment`` plus an exact type makes every browser save it instead. The presigned URL
carries both as response overrides, and the object itself is stored with them too.
"""

from __future__ import annotations

import urllib.parse

_UNSAFE_IN_QUOTES = frozenset('"\\')


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 name (RFC 6266 section 4.3)."""
    fallback = "".join(
        ch if ch.isascii() and ch.isprintable() and ch not in _UNSAFE_IN_QUOTES else "_" for ch in filename
    )
    encoded = urllib.parse.quote(filename, safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def result_filename(original: str, result_key: str) -> str:
    """The user's file name with the result's extension (``notes.txt`` -> ``notes.txt.gz``)."""
    artifact = result_key.rsplit("/", 1)[-1]  # result.<ext> or result.<ext>.gz
    if artifact.endswith(".gz"):
        return f"{original}.gz"
    extension = artifact.removeprefix("result")
    stem = original.rsplit(".", 1)[0] if "." in original else original
    return f"{stem}{extension}"


def presign_params(bucket: str, key: str, content_type: str, filename: str) -> dict[str, str]:
    """``get_object`` parameters whose response is a download of ``content_type``."""
    return {
        "Bucket": bucket,
        "Key": key,
        "ResponseContentType": content_type,
        "ResponseContentDisposition": content_disposition(filename),
    }


def object_headers(content_type: str, filename: str) -> dict[str, str]:
    """ExtraArgs for storing an artifact, so a GET without overrides is an attachment too."""
    return {"ContentType": content_type, "ContentDisposition": content_disposition(filename)}
