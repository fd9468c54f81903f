"""PDF cleaning removes scripts and actions at every level; downloads are attachments of the
detected type.

The cleaned PDF is checked by a tokenizer of our own over its raw bytes (names with ``#xx`` escapes
decoded, literal strings with their escapes decoded), not through pypdf's object model that wrote
it: what a PDF reader would see is what is counted.
"""

from __future__ import annotations

import io
import re

import httpx
import pytest

from easy_upload.downloads import content_disposition, result_filename
from easy_upload.processing import process
from tests.reference_app import hostile, samples
from tests.reference_app.app import Client
from tests.reference_app.conftest import AppFactory, user

FORBIDDEN_NAMES = {"/JavaScript", "/JS", "/Launch", "/AA", "/OpenAction", "/SubmitForm", "/ImportData",
                   "/FileAttachment", "/EmbeddedFiles", "/Next", "/RichMedia", "/ObjStm"}
_NAME = re.compile(rb"/[^\s/<>\[\]()%{}]+")
_STRING = re.compile(rb"\((?:\\.|[^\\)])*\)", re.DOTALL)
_OCTAL = re.compile(rb"\\([0-7]{1,3})")


def names(pdf: bytes) -> set[str]:
    return {re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m[1], 16)]), n).decode("latin-1")
            for n in _NAME.findall(_STRING.sub(b"()", pdf))}


def strings(pdf: bytes) -> list[str]:
    return [_OCTAL.sub(lambda m: bytes([int(m[1], 8)]), s[1:-1]).replace(b"\\", b"").decode("latin-1")
            for s in _STRING.findall(pdf)]


def test_the_hostile_pdf_really_carries_what_must_go() -> None:
    raw = hostile.pdf_with_actions()
    assert {"/JavaScript", "/JS", "/Launch", "/AA", "/OpenAction", "/SubmitForm", "/FileAttachment",
            "/Next"} <= names(raw)
    assert sum("app.alert" in s for s in strings(raw)) == 8
    assert any(s.startswith("javascript:") for s in strings(raw))


def clean(raw: bytes) -> bytes:
    out = process(io.BytesIO(raw), "application/pdf")
    try:
        out.result.data.seek(0)
        return out.result.data.read()
    finally:
        out.close()


def test_scripts_and_actions_are_removed_at_every_level() -> None:
    result = clean(hostile.pdf_with_actions())
    assert not names(result) & FORBIDDEN_NAMES, names(result) & FORBIDDEN_NAMES
    texts = strings(result)
    assert not [s for s in texts if "app.alert" in s or "javascript:" in s or "calc.exe" in s], texts
    assert "https://example.com/kept" in texts  # an ordinary link stays a link
    from pypdf import PdfReader

    assert len(PdfReader(io.BytesIO(result)).pages) == 1


def test_an_ordinary_pdf_keeps_its_pages() -> None:
    result = clean(samples.pdf(pages=3))
    assert not names(result) & FORBIDDEN_NAMES
    assert result.count(b"/Type /Page\n") == 3


@pytest.mark.parametrize(("original", "key", "expected"), [
    ("photo.jpg", "u/result.jpg", "photo.jpg"),
    ("notes.txt", "u/result.txt.gz", "notes.txt.gz"),
    ("scan", "u/result.pdf", "scan.pdf"),
])
def test_download_names_keep_the_users_name(original: str, key: str, expected: str) -> None:
    assert result_filename(original, key) == expected


def test_content_disposition_has_an_ascii_fallback_and_the_utf8_name() -> None:
    value = content_disposition('résumé "final".pdf')
    assert value.startswith('attachment; filename="r_sum_ _final_.pdf"; ')
    assert value.endswith("filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf")


def _download_headers(client: Client, upload_id: str) -> list[httpx.Headers]:
    assert client.wait_final(upload_id)[-1].event == "completed"
    links = client.http.get(f"/api/uploads/{upload_id}/download").json()
    return [httpx.get(links[k]).headers for k in ("url", "manifest_url", "thumbnail_url") if links.get(k)]


@pytest.mark.services
@pytest.mark.parametrize("planted", ["", "inline_download,pdf_actions_kept"])
def test_downloads_are_attachments_of_the_detected_type(app_factory: AppFactory, planted: str) -> None:
    app = app_factory(planted)
    mallory = user(app, "mallory")
    try:
        pdf = mallory.upload("évil.pdf", hostile.pdf_with_actions(), "application/pdf").json()["id"]
        png = mallory.upload("pic.png", samples.png(), "image/png").json()["id"]
        pdf_headers, png_headers = _download_headers(mallory, pdf), _download_headers(mallory, png)
        links = mallory.http.get(f"/api/uploads/{pdf}/download").json()
        cleaned = httpx.get(links["url"]).content
    finally:
        mallory.close()
    dispositions = [h.get("content-disposition", "") for h in [*pdf_headers, *png_headers]]
    if planted:
        assert not any(d.startswith("attachment") for d in dispositions), dispositions
        assert "/JavaScript" in names(cleaned)
        return
    assert all(d.startswith("attachment;") for d in dispositions), dispositions
    assert pdf_headers[0]["content-type"] == "application/pdf"
    assert "filename*=UTF-8''%C3%A9vil.pdf" in pdf_headers[0]["content-disposition"]
    assert [h["content-type"] for h in png_headers] == ["image/png", "application/json", "image/png"]
    assert not names(cleaned) & FORBIDDEN_NAMES
