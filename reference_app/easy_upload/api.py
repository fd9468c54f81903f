"""The HTTP API: app factory, authentication, error mapping and the OpenAPI document."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Match, Route
from starlette.types import ASGIApp

from easy_upload import __version__, ops, routes, streams
from easy_upload.errors import HttpError
from easy_upload.metrics import Metrics
from easy_upload.middleware import EdgeMiddleware
from easy_upload.services import OUTAGE_EXCEPTIONS, Services, as_unavailable
from easy_upload.settings import Settings

log = logging.getLogger("easy_upload")


def _error(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    rid = getattr(request.state, "request_id", None)
    body = {"error": {"code": code, "message": message, **({"request_id": rid} if rid else {})}}
    return JSONResponse(body, status_code=status, headers=headers)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HttpError)
    return _error(request, exc.status, exc.code, exc.message, exc.headers)


def _allowed_methods(request: Request) -> set[str]:
    """Every method some route serves on this path (Starlette's 405 names only the first route's)."""
    methods: set[str] = set()
    # FastAPI >= 0.165 keeps included routers unflattened in app.routes: look at ours directly.
    for route in (*request.app.routes, *ops.router.routes, *routes.router.routes, *streams.router.routes):
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    return methods


async def _on_starlette(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and (methods := _allowed_methods(request)):
        headers["Allow"] = ", ".join(sorted(methods))
    return _error(request, exc.status_code, code, str(exc.detail), headers)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    return _error(request, 400, "bad_request", f"{where}: {first.get('msg', 'invalid request')}")


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    unavailable = as_unavailable(exc)
    services: Services = request.app.state.services
    if unavailable is not None:
        services.metrics.dependency_errors.labels(unavailable.dependency, services.settings.app_version).inc()
        log.warning(
            "dependency unavailable", extra={"dependency": unavailable.dependency, "error": repr(exc)}
        )
        return _error(request, 503, unavailable.code, unavailable.message, unavailable.headers)
    log.error("unhandled error", exc_info=exc)
    return _error(request, 500, "internal_error", "internal error")


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, minus the 422 it adds: our validation errors are 400 with the error schema."""
    if app.openapi_schema is None:
        doc = get_openapi(
            title=app.title, version=app.version, routes=app.routes, description=app.description
        )
        for path in doc.get("paths", {}).values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            doc.get("components", {}).get("schemas", {}).pop(name, None)
        doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        for path in doc.get("paths", {}).values():
            for operation in path.values():
                if "401" in operation.get("responses", {}):  # it needs a token: say so in the document
                    operation["security"] = [{"bearer": []}]
        app.openapi_schema = doc
    return app.openapi_schema


def create_app(settings: Settings | None = None, metrics: Metrics | None = None) -> FastAPI:
    """The FastAPI app (routes, handlers, CORS); ``build_app`` adds the edge middleware around it."""
    settings = settings or Settings.from_env()
    metrics = metrics or Metrics(settings.app_version)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.create(settings, metrics)
        app.state.services = services
        await services.open()
        try:
            yield
        finally:
            await services.close()

    app = FastAPI(
        title="Easy Upload",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        description="Upload a file, watch it being processed over SSE, download the result.",
    )
    app.state.settings, app.state.metrics = settings, metrics
    app.add_exception_handler(HttpError, _on_http_error)
    app.add_exception_handler(StarletteHTTPException, _on_starlette)
    app.add_exception_handler(RequestValidationError, _on_validation)
    for outage in OUTAGE_EXCEPTIONS:  # handled inside the app, so they are not re-raised to the server
        app.add_exception_handler(outage, _on_unexpected)
    app.add_exception_handler(Exception, _on_unexpected)
    app.include_router(ops.router)
    app.include_router(routes.router)
    app.include_router(streams.router)
    app.mount("/static", StaticFiles(directory=str(resources.files("easy_upload") / "static")), name="static")
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_credentials=False,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "Last-Event-ID", "X-Request-ID"],
        expose_headers=["X-Request-ID", "X-App-Version", "Location"],
        max_age=600,
    )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def build_app(settings: Settings | None = None) -> ASGIApp:
    """The ASGI app uvicorn serves: the FastAPI app inside the edge middleware."""
    settings = settings or Settings.from_env()
    metrics = Metrics(settings.app_version)
    return EdgeMiddleware(create_app(settings, metrics), settings, metrics)
