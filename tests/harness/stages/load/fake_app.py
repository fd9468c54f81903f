"""A tiny stand-in for the reference app's API (uploads, SSE, list, download) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import random
import threading
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web

ROUTES = {"uploads": "/api/uploads", "events": "/api/uploads/{id}/events",
          "download": "/api/uploads/{id}/download"}


def describe(scenarios: Path) -> None:
    """Write the ``scenarios/app.yaml`` of this fake (its routes; Bearer auth) for a stage run."""
    scenarios.mkdir(parents=True, exist_ok=True)
    (scenarios / "app.yaml").write_text("routes:\n" + "".join(f"  {k}: {v}\n" for k, v in ROUTES.items()))


async def _cancel(tasks: set[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class FakeApp:
    """Serves in a daemon thread; ``error_every``: every n-th upload is a 500; ``error_rate``: any route."""

    def __init__(self, version: str = "v1", error_every: int = 0, error_rate: float = 0.0) -> None:
        self.version = version
        self.error_rate = error_rate  # any route but /metrics, like FAULT_ERROR_RATE
        self._random = random.Random(3)
        self.error_every = error_every
        self.uploads: dict[str, str] = {}
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._count = 0
        self.statuses: dict[int, int] = {}

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
        app.router.add_post(ROUTES["uploads"], self._upload)
        app.router.add_get(ROUTES["uploads"], self._list)
        app.router.add_get(ROUTES["events"], self._events)
        app.router.add_get(ROUTES["download"], self._download)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, handle_signals=False)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready.set()
        loop.run_forever()
        # requests still in flight when stopped (a replica retired under load): end them here
        loop.run_until_complete(_cancel(asyncio.all_tasks(loop)))
        loop.close()

    @web.middleware
    async def _version(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path != "/metrics" and self._random.random() < self.error_rate:
            response: web.StreamResponse = web.json_response({"detail": "fault"}, status=500)
        else:
            response = await handler(request)
        if not response.prepared:
            response.headers["X-App-Version"] = self.version
        if request.path != "/metrics":
            self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
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
        """The reference app's series: requests by status, a latency histogram (all fast)."""
        total = sum(self.statuses.values())
        lines = ["# TYPE http_requests_total counter"]
        lines += [
            f'http_requests_total{{route="/x",method="GET",status="{s}",version="{self.version}"}} {n}'
            for s, n in self.statuses.items()
        ]
        lines += ["# TYPE http_request_duration_seconds histogram"]
        lines += [
            f'http_request_duration_seconds_bucket{{version="{self.version}",le="{le}"}} {total}'
            for le in ("0.05", "+Inf")
        ]
        lines += [
            f'http_request_duration_seconds_count{{version="{self.version}"}} {total}',
            f'http_request_duration_seconds_sum{{version="{self.version}"}} {total * 0.01}',
        ]
        return web.Response(text="\n".join(lines) + "\n")
