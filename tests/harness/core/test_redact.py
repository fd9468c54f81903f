from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.redact import MASK, Redactor


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc", f"Authorization: Bearer {MASK}"),
        ("key AKIAIOSFODNN7EXAMPLE used", f"key {MASK} used"),
        ("Authorization: Basic YWxpY2U6czNjcjN0", f"Authorization: Basic {MASK}"),
        (
            "Basic authentication is disabled; Bearer tokens are required",
            "Basic authentication is disabled; Bearer tokens are required",
        ),
        ("postgresql://app:hunter2@127.0.0.1:5432/db", f"postgresql://app:{MASK}@127.0.0.1:5432/db"),
        ("redis://:pw123@localhost:6379/0", f"redis://:{MASK}@localhost:6379/0"),
        ('{"password": "hunter2", "user": "x"}', f'{{"password": "{MASK}", "user": "x"}}'),
        ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG", f"AWS_SECRET_ACCESS_KEY={MASK}"),
        ("X-Api-Key: abcdef12345", f"X-Api-Key: {MASK}"),
        ("X-Api-Key: <token of bob>", "X-Api-Key: <token of bob>"),  # a DAST finding names the owner
        ("the token expired; 3 tokens: left", "the token expired; 3 tokens: left"),
        ("https://example.com/path?q=1", "https://example.com/path?q=1"),
    ],
)
def test_patterns(text: str, expected: str) -> None:
    assert Redactor().redact(text) == expected


def test_registered_secrets_longest_first_and_short_ones_ignored() -> None:
    redactor = Redactor(patterns=[r"sess-[0-9]+"])
    redactor.register("abcd1234", "abcd1234-extended", "ab", None, "")
    assert redactor.redact("x abcd1234-extended y abcd1234 ab sess-42") == f"x {MASK} y {MASK} ab {MASK}"
    assert redactor.secrets == {"abcd1234", "abcd1234-extended"}


def test_redact_data_walks_json_like_values() -> None:
    redactor = Redactor()
    redactor.register("s3cr3t!")
    data = {"a": ["s3cr3t!", 1, None], "b": {"c": "x s3cr3t!"}, "s3cr3t!": 2.5}
    assert redactor.redact_data(data) == {"a": [MASK, 1, None], "b": {"c": f"x {MASK}"}, "s3cr3t!": 2.5}


def test_redact_tree_rewrites_text_files_only(tmp_path: Path) -> None:
    redactor = Redactor()
    redactor.register("tok-12345678")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "log.txt").write_text("token tok-12345678\n", encoding="utf-8")
    (tmp_path / "clean.txt").write_text("nothing here\n", encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe tok-12345678")
    changed = redactor.redact_tree(tmp_path)
    assert changed == [tmp_path / "sub" / "log.txt"]
    assert (tmp_path / "sub" / "log.txt").read_text(encoding="utf-8") == f"token {MASK}\n"
    assert (tmp_path / "image.png").read_bytes().endswith(b"tok-12345678")
    assert redactor.redact_tree(tmp_path / "missing") == []


def test_redacting_a_json_file_keeps_it_json(tmp_path: Path) -> None:
    """A HAR's response text is a JSON string holding JSON: a secret-looking ``token: …`` inside it
    must not eat the escape of the quote that follows (the file became invalid JSON evidence)."""
    body = '{"error":"unrecognized token: \\"\\u0006\\""}'  # as a DAST run's HAR held it
    har = tmp_path / "har.json"
    har.write_text(json.dumps({"text": body, "headers": [{"password": "hunter2-long"}]}, indent=4))
    Redactor().redact_file(har)
    data = json.loads(har.read_text())
    assert data["text"] == body and "hunter2-long" not in json.dumps(data)
