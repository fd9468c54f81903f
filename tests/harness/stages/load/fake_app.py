"""A tiny stand-in for the reference app's API (uploads, SSE, list, download) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

from aiohttp import web


class FakeApp:
    """Serves in a daemon thread; ``error_every`` makes every n-th upload answer 500."""

    def __init__(self, version: str = "v1", error_every: int = 0) -> None:
        self.version = version
        self.error_every = error_every
        self.uploads: dict[str, str] = {}
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._count = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeApp:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def _serve(self, ready: threading.Event) -> None:
        self._loop = loop = asyncio.new_event_loop()
        app = web.Application(middlewares=[self._version])
        app.router.add_post("/api/uploads", self._upload)
        app.router.add_get("/api/uploads", self._list)
        app.router.add_get("/api/uploads/{id}/events", self._events)
        app.router.add_get("/api/uploads/{id}/download", self._download)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, handle_signals=False)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready.set()
        loop.run_forever()
        loop.close()

    @web.middleware
    async def _version(self, request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        response.headers["X-App-Version"] = self.version
        return response

    async def _upload(self, request: web.Request) -> web.Response:
        await request.read()
        self._count += 1
        if self.error_every and self._count % self.error_every == 0:
            return web.json_response({"detail": "injected"}, status=500)
        upload_id = str(uuid.uuid4())
        self.uploads[upload_id] = "completed"
        return web.json_response({"id": upload_id, "state": "queued"}, status=201)

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response({"items": [{"id": i} for i in list(self.uploads)[-20:]]})

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for event in ("state", "progress", "completed"):
            await response.write(f"event: {event}\r\ndata: {{}}\r\nid: 1\r\n\r\n".encode())
            await asyncio.sleep(0.02)
        await response.write_eof()
        return response

    async def _download(self, request: web.Request) -> web.Response:
        return web.json_response({"url": "http://127.0.0.1/x"})

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(text=f'http_requests_total{{version="{self.version}"}} {self._count}\n')
