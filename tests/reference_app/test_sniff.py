from __future__ import annotations

import pytest

from easy_upload.errors import UnsupportedType
from easy_upload.sniff import detect_type, looks_like_text, normalise_claim
from tests.reference_app import samples


@pytest.mark.parametrize("kind", sorted(samples.ALL_TYPES))
def test_every_allowed_type_is_detected(kind: str) -> None:
    filename, claimed, payload, expected = samples.ALL_TYPES[kind]
    assert detect_type(payload[:1024], claimed=claimed, filename=filename, complete=True).mime == expected


@pytest.mark.parametrize("kind", sorted(samples.ALL_TYPES))
def test_a_neutral_claim_lets_the_bytes_decide(kind: str) -> None:
    filename, _claimed, payload, expected = samples.ALL_TYPES[kind]
    found = detect_type(payload, claimed="application/octet-stream", filename=filename, complete=True)
    assert found.mime == expected


@pytest.mark.parametrize(
    ("payload", "claimed", "reason"),
    [
        (b"PK\x03\x04zipfile", None, "not allowed"),
        (b"MZ\x90\x00" + b"\x00" * 60, "application/octet-stream", "not allowed"),
        (b"\x7fELF\x02\x01\x01", None, "not allowed"),
        (b"<html>\x00</html>", "text/html", "not allowed"),
        (samples.png(), "image/jpeg", "does not match"),
        (samples.pdf(), "image/png", "does not match"),
        (b"hello", "image/png", "does not match"),
        (b"hello", "text/html", "does not match"),
        (b"hello, world", "application/json", "JSON"),
        (b"", None, "empty"),
        (b"\xff\xfe\x00h\x00i", None, "not allowed"),
    ],
)
def test_refusals(payload: bytes, claimed: str | None, reason: str) -> None:
    with pytest.raises(UnsupportedType, match=reason):
        detect_type(payload, claimed=claimed, filename="x.bin", complete=True)


def test_text_flavour_follows_claim_then_extension() -> None:
    assert detect_type(b"a,b\n", claimed="", filename="t.csv", complete=True).mime == "text/csv"
    assert detect_type(b"a,b\n", claimed="text/plain", filename="t.csv", complete=True).mime == "text/plain"
    assert detect_type(b"[1]", claimed=None, filename="t.json", complete=True).mime == "application/json"
    assert detect_type(b"[1]", claimed=None, filename="t", complete=True).mime == "text/plain"


def test_a_multibyte_character_cut_by_the_sniff_window_is_still_text() -> None:
    head = "aé".encode()[:-1]
    assert looks_like_text(head, complete=False)
    assert not looks_like_text(head, complete=True)


def test_claims_are_normalised() -> None:
    assert normalise_claim("Image/JPG; charset=x") == "image/jpeg"
    assert normalise_claim(None) == ""
