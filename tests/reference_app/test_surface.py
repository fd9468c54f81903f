"""What every response carries, the ops endpoints, limits, CORS and the OpenAPI document."""

from __future__ import annotations

import httpx
import pytest

from tests.reference_app.app import AppProcesses, Client

pytestmark = pytest.mark.services


def test_page_is_served_with_a_strict_csp(easy_upload: AppProcesses) -> None:
    page = httpx.get(easy_upload.base_url + "/")
    assert page.status_code == 200 and "<form" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert httpx.get(easy_upload.base_url + "/static/app.js").status_code == 200


@pytest.mark.parametrize("path", ["/", "/healthz", "/api/uploads", "/nope", "/static/app.css"])
def test_security_headers_everywhere(easy_upload: AppProcesses, path: str) -> None:
    response = httpx.get(easy_upload.base_url + path, headers={"X-Request-ID": "req-12345678"})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-app-version"] == "test-1"
    assert response.headers["x-request-id"] == "req-12345678"


def test_errors_share_one_json_shape(easy_upload: AppProcesses, alice: Client) -> None:
    for response in (httpx.get(easy_upload.base_url + "/nope"), alice.http.get("/api/uploads?limit=0"),
                     httpx.delete(easy_upload.base_url + "/healthz")):
        assert response.status_code in (400, 404, 405)
        error = response.json()["error"]
        assert error["code"] and error["message"] and error["request_id"]


def test_health_and_readiness(easy_upload: AppProcesses) -> None:
    assert httpx.get(easy_upload.base_url + "/healthz").json()["status"] == "ok"
    ready = httpx.get(easy_upload.base_url + "/readyz").json()
    assert ready["checks"] == {"postgresql": "ok", "redis": "ok", "s3": "ok"}


def test_metrics_expose_the_promised_series(easy_upload: AppProcesses, alice: Client) -> None:
    upload_id = alice.upload("m.txt", b"metrics\n", "text/plain").json()["id"]
    alice.wait_final(upload_id)
    text = httpx.get(easy_upload.base_url + "/metrics").text
    for series in ('http_requests_total{method="POST",route="/api/uploads",status="201",version="test-1"}',
                   "http_request_duration_seconds_bucket{", "upload_bytes_total{", "sse_open_streams{",
                   'queue_depth{state="waiting"}', "easy_upload_build_info{"):
        assert series in text, series
    worker_port = easy_upload.workers[0].env["WORKER_METRICS_PORT"] if easy_upload.workers[0].env else ""
    worker = httpx.get(f"http://127.0.0.1:{worker_port}/metrics").text
    assert 'jobs_total{outcome="completed",type="text",version="test-1"}' in worker
    assert "job_duration_seconds_bucket{" in worker


def test_header_and_body_limits(easy_upload: AppProcesses, alice: Client) -> None:
    many = {f"X-H{i}": "v" for i in range(80)}
    assert httpx.get(easy_upload.base_url + "/healthz", headers=many).status_code == 431
    big = alice.http.post("/api/uploads/00000000-0000-4000-8000-000000000000/stream-token",
                          content=b"x" * 100_000)
    assert big.status_code == 413


def test_cors_allowlist(easy_upload: AppProcesses) -> None:
    def preflight(origin: str) -> httpx.Response:
        return httpx.options(easy_upload.base_url + "/api/uploads", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization"})

    allowed = preflight("https://allowed.example")
    assert allowed.headers["access-control-allow-origin"] == "https://allowed.example"
    assert "access-control-allow-origin" not in preflight("https://evil.example").headers


def test_openapi_declares_errors_with_the_json_schema(easy_upload: AppProcesses) -> None:
    doc = httpx.get(easy_upload.base_url + "/openapi.json").json()
    upload = doc["paths"]["/api/uploads"]["post"]
    assert {"401", "413", "415", "503"} <= set(upload["responses"])
    assert "multipart/form-data" in upload["requestBody"]["content"]
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            assert "422" not in operation["responses"], (path, method)
            if path.startswith("/api/uploads/{upload_id}"):
                assert {"401", "404", "503"} <= set(operation["responses"]), (path, method)
    ref = upload["responses"]["415"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/ErrorResponse")


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("OPTIONS", "/api/uploads", {"GET", "POST"}),
    ("DELETE", "/api/uploads", {"GET", "POST"}),
    ("PUT", "/api/uploads/00000000-0000-4000-8000-000000000000", {"GET"}),
    ("GET", "/api/uploads/00000000-0000-4000-8000-000000000000/stream-token", {"POST"}),
])
def test_405_lists_every_method_the_path_serves(easy_upload: AppProcesses, method: str, path: str,
                                                allowed: set[str]) -> None:
    response = httpx.request(method, easy_upload.base_url + path)
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed, response.headers


def test_openapi_documents_the_list_cursor_and_upload_refusals(easy_upload: AppProcesses,
                                                               alice: Client) -> None:
    doc = httpx.get(easy_upload.base_url + "/openapi.json").json()
    listing = doc["paths"]["/api/uploads"]["get"]
    assert "cursor" in listing["responses"]["400"]["description"]
    assert "404" not in listing["responses"]  # a list is never "not found"
    [cursor] = [p for p in listing["parameters"] if p["name"] == "cursor"]
    [schema] = [s for s in cursor["schema"].get("anyOf", [cursor["schema"]]) if s.get("type") == "string"]
    assert schema["pattern"] and schema["maxLength"] <= 200
    upload = doc["paths"]["/api/uploads"]["post"]["responses"]
    assert "magic bytes" in upload["415"]["description"] and "multipart" in upload["400"]["description"]
    for bad in ("not a cursor!", "AAAA", "x" * 201):
        refused = alice.http.get("/api/uploads", params={"cursor": bad})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "bad_request", bad
    assert "invalid cursor" in alice.http.get("/api/uploads", params={"cursor": "AAAA"}).text
    first = alice.http.get("/api/uploads", params={"limit": 1}).json()
    if first["next_cursor"]:
        assert alice.http.get("/api/uploads", params={"cursor": first["next_cursor"]}).status_code == 200
