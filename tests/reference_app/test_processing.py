from __future__ import annotations

import gzip
import hashlib
import io
import json

import pytest
from PIL import Image
from pypdf import PdfReader

from easy_upload.errors import ProcessingError
from easy_upload.processing import Outcome, manifest, process
from tests.reference_app import samples


def run(payload: bytes, mime: str) -> Outcome:
    """Process, then swap each (possibly spooled) artifact for an in-memory copy and close it."""
    out = process(io.BytesIO(payload), mime)
    for art in [out.result, *out.extras]:
        with art.data as spooled:
            spooled.seek(0)
            art.data = io.BytesIO(spooled.read())
    return out


@pytest.mark.parametrize("kind", sorted(samples.ALL_TYPES))
def test_processing_is_deterministic(kind: str) -> None:
    _name, _claimed, payload, mime = samples.ALL_TYPES[kind]
    first, second = run(payload, mime), run(payload, mime)
    assert first.result.sha256 == second.result.sha256
    assert [e.sha256 for e in first.extras] == [e.sha256 for e in second.extras]
    doc = manifest("u1", mime, (len(payload), hashlib.sha256(payload).hexdigest()), first)
    assert doc == manifest("u1", mime, (len(payload), hashlib.sha256(payload).hexdigest()), second)


@pytest.mark.parametrize("kind", ["jpeg", "webp"])
def test_exif_is_stripped(kind: str) -> None:
    _name, _claimed, payload, mime = samples.ALL_TYPES[kind]
    assert b"SecretCam" in payload
    out = run(payload, mime)
    data = out.result.data.read()
    assert b"SecretCam" not in data and b"Copyright Someone" not in data
    with Image.open(io.BytesIO(data)) as img:
        assert not img.getexif()
        assert img.size == (64, 48)


def test_png_text_and_gif_comment_are_stripped() -> None:
    assert b"secret-author" not in run(samples.png_with_text(), "image/png").result.data.read()
    assert b"secret-comment" not in run(samples.gif(), "image/gif").result.data.read()


def test_images_get_a_png_thumbnail_and_dimensions() -> None:
    out = run(samples.png(), "image/png")
    assert out.facts["width"] == 64 and out.facts["height"] == 48
    (thumb,) = out.extras
    with Image.open(thumb.data) as img:
        assert img.format == "PNG" and max(img.size) <= 256


def test_pdf_pages_counted_and_metadata_stripped() -> None:
    out = run(samples.pdf(pages=3), "application/pdf")
    assert out.facts == {"pages": 3}
    data = out.result.data.read()
    assert b"secret-author" not in data and b"secret-title" not in data
    assert len(PdfReader(io.BytesIO(data)).pages) == 3


@pytest.mark.parametrize("kind", ["text", "csv", "json"])
def test_text_is_gzipped_losslessly(kind: str) -> None:
    _name, _claimed, payload, mime = samples.ALL_TYPES[kind]
    out = run(payload, mime)
    assert out.result.name.endswith(".gz")
    assert gzip.decompress(out.result.data.read()) == payload


@pytest.mark.parametrize(
    ("payload", "mime", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image/png", "cannot decode"),
        (b"\xff\xd8\xff\xe0garbage", "image/jpeg", "cannot decode"),
        (b"%PDF-1.7\nnot really a pdf", "application/pdf", "PDF"),
        (b"ok\n\xff\xfe broken", "text/plain", "UTF-8"),
        (b'{"a": 1,', "application/json", "invalid JSON"),
        (b'a,"b\n', "text/csv", "invalid CSV|UTF-8"),
        (b"x", "application/zip", "not processable"),
    ],
)
def test_unprocessable_files_fail_with_a_reason(payload: bytes, mime: str, reason: str) -> None:
    with pytest.raises(ProcessingError, match=reason):
        run(payload, mime)


def test_manifest_fields() -> None:
    payload = samples.pdf()
    out = run(payload, "application/pdf")
    doc = json.loads(manifest("abc", "application/pdf", (len(payload), "f" * 64), out))
    assert doc["detected_type"] == "application/pdf" and doc["pages"] == 2
    assert doc["original"] == {"size": len(payload), "sha256": "f" * 64}
    assert doc["result"]["sha256"] == out.result.sha256 and doc["result"]["size"] == out.result.size
