from __future__ import annotations

import pytest

from easy_upload.sanitize import FALLBACK_NAME, MAX_FILENAME_BYTES, sanitize_filename


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("photo.png", "photo.png"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\secret.pdf", "secret.pdf"),
        ("evil\x00name.txt", "evilname.txt"),
        ("a<b>c:d\"e|f?g*h.csv", "a_b_c_d_e_f_g_h.csv"),
        ("  spaced   out  .json ", "spaced out .json"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),
        ("...", FALLBACK_NAME),
        ("", FALLBACK_NAME),
        (None, FALLBACK_NAME),
        ("ﬁle.txt", "file.txt"),
        ("$(rm -rf).txt", "_(rm -rf).txt"),
        ("name\r\nX-Injected: 1.png", "nameX-Injected_ 1.png"),
    ],
)
def test_sanitize_filename(raw: str | None, expected: str) -> None:
    assert sanitize_filename(raw) == expected


def test_long_names_keep_their_extension_and_fit() -> None:
    name = sanitize_filename("é" * 500 + ".png")
    assert name.endswith(".png")
    assert len(name.encode()) <= MAX_FILENAME_BYTES


def test_sanitised_names_never_contain_path_separators() -> None:
    for raw in ["a/b", "a\\b", "/", "\\\\server\\share\\x"]:
        assert "/" not in sanitize_filename(raw) and "\\" not in sanitize_filename(raw)
