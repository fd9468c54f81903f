"""Operational endpoints and the page: no authentication, never fault-injected."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from easy_upload.deps import ServicesDep
from easy_upload.schemas import Health, error_responses

router = APIRouter()


@router.get("/", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(str(resources.files("easy_upload") / "static" / "index.html"), media_type="text/html")


@router.get("/healthz", response_model=Health, tags=["ops"])
async def healthz(services: ServicesDep) -> Health:
    """The process is alive (no dependency is checked)."""
    return Health(status="ok", version=services.settings.app_version)


@router.get("/readyz", response_model=Health, tags=["ops"], responses=error_responses(503))
async def readyz(services: ServicesDep) -> Any:
    """PostgreSQL, Redis and S3 are reachable."""
    checks = await services.check()
    if all(v == "ok" for v in checks.values()):
        return Health(status="ready", version=services.settings.app_version, checks=checks)
    down = ", ".join(k for k, v in checks.items() if v != "ok")
    body = {
        "error": {"code": "service_unavailable", "message": f"not ready: {down} unavailable"},
        "checks": checks,
    }
    return JSONResponse(body, status_code=503, headers={"Retry-After": "2"})


@router.get(
    "/metrics",
    tags=["ops"],
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(services: ServicesDep) -> Response:
    """Prometheus exposition format."""
    await services.refresh_queue_depth()
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
