"""The multipart reader in-process: part headers keep their raw bytes until names are decoded as UTF-8."""

from __future__ import annotations

import pytest

from easy_upload.errors import BadRequest
from easy_upload.receiver import MultipartEvents, _disposition

BOUNDARY = b"b0undary"


def _parts(disposition: bytes) -> list[dict[str, str]]:
    body = (b"--" + BOUNDARY + b"\r\nContent-Disposition: " + disposition
            + b"\r\nContent-Type: image/png\r\n\r\nx\r\n--" + BOUNDARY + b"--\r\n")
    return [value for kind, value in MultipartEvents(BOUNDARY).feed(body) if kind == "part"]


@pytest.mark.parametrize("name, filename", [
    ("file", "café.png"), ("\U0002a21d", "a.png"), ("file", "photo\u202egnp.exe"),
    ("file", "\U0002a21d \u65e5\u672c.txt"), ("file", 'quote"d.png'),
])
def test_utf8_names_round_trip(name: str, filename: str) -> None:
    escaped = filename.replace('"', '\\"')
    raw = f'form-data; name="{name}"; filename="{escaped}"'.encode()
    [headers] = _parts(raw)
    assert _disposition(headers) == (name, filename)
    assert headers["content-type"] == "image/png"


def test_invalid_utf8_is_replaced_not_an_error() -> None:
    [headers] = _parts(b'form-data; name="file"; filename="a\xff.png"')
    assert _disposition(headers) == ("file", "a\ufffd.png")


def test_rfc5987_filename_star_is_not_used() -> None:
    # RFC 7578 section 4.2 forbids `filename*` in multipart/form-data; only `filename` counts.
    [headers] = _parts(b"form-data; name=\"file\"; filename*=UTF-8''caf%C3%A9.png; filename=\"plain.png\"")
    assert _disposition(headers) == ("file", "plain.png")
    [alone] = _parts(b"form-data; name=\"file\"; filename*=UTF-8''caf%C3%A9.png")
    assert _disposition(alone) == ("file", None)


def test_oversized_part_headers_are_a_400() -> None:
    with pytest.raises(BadRequest):
        _parts(b'form-data; name="file"; filename="' + b"a" * 9000 + b'"')
