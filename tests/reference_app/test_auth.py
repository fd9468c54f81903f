from __future__ import annotations

import time

from easy_upload.auth import TOKEN_PREFIX, hash_token, new_token, sign_stream_token, verify_stream_token

KEY = b"k" * 32


def test_api_tokens_are_random_and_only_their_hash_is_kept() -> None:
    first, second = new_token(), new_token()
    assert first != second and first.startswith(TOKEN_PREFIX) and len(first) > 40
    assert hash_token(first) != first and len(hash_token(first)) == 64
    assert hash_token(first) == hash_token(first)


def test_stream_token_round_trip() -> None:
    token = sign_stream_token(KEY, "user-1", "upload-1", ttl_s=60)
    assert verify_stream_token(KEY, token, "upload-1") == "user-1"


def test_stream_token_is_refused_when_tampered_misused_or_expired() -> None:
    token = sign_stream_token(KEY, "user-1", "upload-1", ttl_s=60)
    body, _, signature = token.partition(".")
    assert verify_stream_token(KEY, token, "upload-2") is None
    assert verify_stream_token(b"other-key", token, "upload-1") is None
    assert verify_stream_token(KEY, body + "." + signature[::-1], "upload-1") is None
    assert verify_stream_token(KEY, body, "upload-1") is None
    assert verify_stream_token(KEY, "garbage", "upload-1") is None
    assert verify_stream_token(KEY, token, "upload-1", now=time.time() + 61) is None
