"""Settings validation and the edge middleware (fault injection, limits, headers) in-process."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from easy_upload.errors import ConfigError
from easy_upload.metrics import Metrics
from easy_upload.middleware import EdgeMiddleware, storage_origin
from easy_upload.settings import Settings


def test_settings_from_env_and_defaults() -> None:
    settings = Settings.from_env({"MAX_UPLOAD_BYTES": "10", "CORS_ORIGINS": "https://a, https://b ,",
                                  "S3_ENDPOINT_URL": "http://127.0.0.1:5000"})
    assert settings.max_upload_bytes == 10 and settings.cors_origins == ("https://a", "https://b")
    assert settings.raw_bucket == "raw-uploads" and settings.processed_bucket == "processed-uploads"
    assert storage_origin(settings) == "http://127.0.0.1:5000"
    assert "amazonaws.com" in storage_origin(Settings.from_env({}))


@pytest.mark.parametrize("env", [{"FAULT_ERROR_RATE": "1.5"}, {"MAX_UPLOAD_BYTES": "ten"},
                                 {"UPLOAD_PART_BYTES": "1024"}, {"FAULT_LATENCY_MS": "-1"}])
def test_bad_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(env)


def test_signing_key_is_required_to_make_stream_tokens() -> None:
    with pytest.raises(ConfigError, match="TOKEN_SIGNING_KEY"):
        Settings.from_env({}).signing_key()


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _call(settings: Settings, path: str, **kwargs: object) -> httpx.Response:
    app = EdgeMiddleware(_ok, settings, Metrics(settings.app_version))

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await client.request(str(kwargs.pop("method", "GET")), path, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(go())


def test_fault_injection_answers_500_but_spares_health_and_metrics() -> None:
    faulty = Settings.from_env({"FAULT_ERROR_RATE": "1", "APP_VERSION": "canary"})
    broken = _call(faulty, "/api/uploads")
    assert broken.status_code == 500 and broken.json()["error"]["code"] == "injected_fault"
    assert broken.headers["x-app-version"] == "canary"
    for path in ("/healthz", "/readyz", "/metrics"):
        assert _call(faulty, path).status_code == 200
    assert _call(Settings.from_env({"FAULT_ERROR_RATE": "0"}), "/api/uploads").status_code == 200


def test_limits_and_headers() -> None:
    settings = Settings.from_env({"MAX_UPLOAD_BYTES": str(2 * 1024 * 1024)})
    assert _call(settings, "/x", headers={f"x-{i}": "1" for i in range(70)}).status_code == 431
    assert _call(settings, "/x", method="POST", content=b"a" * 70_000).status_code == 413
    big = _call(settings, "/api/uploads", method="POST", content=b"a" * (4 * 1024 * 1024))
    assert big.status_code == 413
    ok = _call(settings, "/x", headers={"X-Request-ID": "bad id with spaces"})
    assert ok.status_code == 200 and len(ok.headers["x-request-id"]) == 32
    assert ok.headers["x-content-type-options"] == "nosniff" and ok.headers["cache-control"] == "no-store"
