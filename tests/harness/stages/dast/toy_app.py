"""A small stand-in of the reference app for the DAST stage's tests, with a switch for planted flaws.

``weak=False``: bearer auth, per-user isolation (others' uploads are 404), security headers.
``weak=True``: ``GET /api/uploads/{id}`` returns anybody's upload (broken object-level
authorization) and ``GET /api/search`` reflects ``q`` into HTML unescaped (reflected XSS).
"""

from __future__ import annotations

import html
import itertools
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

import uvicorn
from fastapi import Depends, FastAPI, File, HTTPException, Query, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

TOKENS = {"tok-alice-0123456789": "alice", "tok-bob-9876543210": "bob"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class Upload(BaseModel):
    id: int
    filename: str = Field(max_length=200)
    state: str


class UploadPage(BaseModel):
    items: list[Upload]


class ErrorBody(BaseModel):
    detail: str


_bearer = HTTPBearer(auto_error=False)


def _user(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    if credentials is None or credentials.credentials not in TOKENS:
        raise HTTPException(401, "unauthorized", headers={"WWW-Authenticate": "Bearer"})
    return TOKENS[credentials.credentials]


User = Annotated[str, Depends(_user)]


def build_app(*, weak: bool = False) -> FastAPI:
    app = FastAPI(title="toy uploads", version="1.0")
    store: dict[int, tuple[str, Upload]] = {}
    ids = itertools.count(1)
    lock = threading.Lock()
    auth_errors: dict[int | str, dict[str, object]] = {401: {"model": ErrorBody}, 404: {"model": ErrorBody}}
    json_error = {"application/json": {"schema": {"type": "object", "properties": {"detail": {}}}}}
    html_errors: dict[int | str, dict[str, object]] = {
        code: {"description": "error", "content": json_error} for code in (401, 422)
    }

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        if not weak:
            response.headers.update(SECURITY_HEADERS)
        return response

    @app.post("/api/uploads", status_code=201, response_model=Upload, responses={**auth_errors, 422: {}})
    async def create(user: User, file: Annotated[UploadFile, File()]) -> Upload:
        with lock:
            upload = Upload(id=next(ids), filename=(file.filename or "upload")[:200], state="queued")
            store[upload.id] = (user, upload)
        return upload

    @app.get("/api/uploads", response_model=UploadPage, responses={**auth_errors, 422: {}})
    async def listing(user: User) -> UploadPage:
        return UploadPage(items=[u for owner, u in store.values() if owner == user])

    @app.get("/api/uploads/{upload_id}", response_model=Upload, responses={**auth_errors, 422: {}})
    async def read(user: User, upload_id: int) -> Upload:
        owner, upload = store.get(upload_id, ("", None))
        if upload is None or (owner != user and not weak):
            raise HTTPException(404, "not found")
        return upload

    @app.get("/api/uploads/{upload_id}/events", responses={**auth_errors, 422: {}})
    async def events(user: User, upload_id: int) -> StreamingResponse:
        async def stream() -> Iterator[bytes]:  # type: ignore[misc]
            yield b"event: snapshot\ndata: {}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream")

    if weak:

        @app.get("/api/search", response_class=HTMLResponse, responses=html_errors)
        async def search(user: User, q: Annotated[str, Query(max_length=100)] = "") -> str:
            return f"<html><body>Results for {q}</body></html>"  # planted: no escaping
    else:

        @app.get("/api/search", response_class=HTMLResponse, responses=html_errors)
        async def search(user: User, q: Annotated[str, Query(max_length=100)] = "") -> str:
            return f"<html><body>Results for {html.escape(q)}</body></html>"

    @app.get("/healthz", responses={200: {"model": ErrorBody}})
    async def healthz() -> dict[str, str]:
        return {"detail": "ok"}

    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(app: Any, *, lifespan: Literal["on", "off"] = "off") -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1:<free port> in a thread; yields the base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan=lifespan, loop="asyncio"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
