"""A weighted HTTP reverse proxy on 127.0.0.1: per-request canary weights, streaming both ways.

What the nginx ingress + Argo Rollouts do in a cluster, locally: every *request* (not connection)
goes to the canary pool with probability ``canary_weight`` percent, else to the stable pool,
round-robin inside the pool. Bodies stream in both directions chunk by chunk, so uploads are never
held whole and SSE events pass through unbuffered. The router counts requests and 5xx per track:
that is how the load stage measures the share of user requests a bad canary received.

Drop-in for ``harness.targets.local.frontdoor.FrontDoor``::

    router = Router()                      # port: a free one unless given
    router.enable()                        # serve (own thread and event loop); router.url
    router.set_backends([("127.0.0.1", 8001)], canary=[("127.0.0.1", 8002)])
    router.canary_weight = 25              # or router.set_weight(25)
    router.stats()                         # {"stable": {"requests": n, "errors_5xx": n}, "canary": {...}}
    router.disable()                       # stop; safe twice

Responses carry ``X-Routed-Track: stable|canary``. With no backend in a pool the router answers 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import threading
from typing import Any

Address = tuple[str, int]
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


_SERVER = "router"
UPSTREAM_KEEPALIVE_S = 2.0  # < uvicorn's --timeout-keep-alive default of 5 s


class _DropClientProtocolErrors(logging.Filter):
    """A malformed request (a fuzzer's NUL byte in a header) is answered 400 by aiohttp; its
    traceback on the console is noise, not a router fault. Everything else is still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        from aiohttp.http_exceptions import HttpProcessingError

        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, HttpProcessingError)


def _server_logger() -> logging.Logger:
    logger = logging.getLogger("harness.router")
    if not any(isinstance(f, _DropClientProtocolErrors) for f in logger.filters):
        logger.addFilter(_DropClientProtocolErrors())
    return logger


def choose_track(weight: float, has_stable: bool, has_canary: bool, roll: float) -> str:
    """``roll`` in [0, 100): canary when below ``weight`` (and a canary exists, or stable is empty)."""
    if not has_canary:
        return "stable"
    if not has_stable:
        return "canary"
    return "canary" if roll < weight else "stable"


class Router:
    """Per-request weighted routing between stable and canary pools (thread-safe setters)."""

    def __init__(self, *, port: int | None = None, host: str = "127.0.0.1", seed: int | None = None) -> None:
        from harness.services import free_port

        self.host = host
        self.port = port or free_port()
        self._pools: dict[str, list[Address]] = {"stable": [], "canary": []}
        self._weight = 0.0
        self._lock = threading.Lock()
        self._turn = itertools.count()
        self._random = random.Random(seed)
        self._counts = {
            t: {"requests": 0, "errors_5xx": 0, "upstream_errors": 0} for t in ("stable", "canary")
        }
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: Any = None
        self._session: Any = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def canary_weight(self) -> float:
        return self._weight

    @canary_weight.setter
    def canary_weight(self, weight: float) -> None:
        self.set_weight(weight)

    def set_weight(self, weight: float) -> None:
        if not 0 <= weight <= 100:
            raise ValueError(f"canary weight {weight} outside 0..100")
        with self._lock:
            self._weight = float(weight)

    def set_backends(self, stable: list[Address], canary: list[Address] | None = None) -> None:
        with self._lock:
            self._pools = {"stable": list(stable), "canary": list(canary or [])}

    def backends(self) -> dict[str, list[Address]]:
        with self._lock:
            return {k: list(v) for k, v in self._pools.items()}

    def stats(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {k: dict(v) for k, v in self._counts.items()}

    def pick(self) -> tuple[str, Address | None]:
        """The track and backend for the next request."""
        with self._lock:
            stable, canary = self._pools["stable"], self._pools["canary"]
            track = choose_track(self._weight, bool(stable), bool(canary), self._random.uniform(0, 100))
            pool = self._pools[track]
            self._counts[track]["requests"] += 1
            return track, (pool[next(self._turn) % len(pool)] if pool else None)

    def _count(self, track: str, key: str) -> None:
        with self._lock:
            self._counts[track][key] += 1

    # -- serving -------------------------------------------------------------------------------

    def enable(self, timeout: float = 10.0) -> None:
        """Start serving in a daemon thread; returns once the port is bound."""
        if self._thread is not None:
            return
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._serve, args=(ready, failure), name="router", daemon=True)
        self._thread.start()
        if not ready.wait(timeout) or failure:
            self.disable()
            raise RuntimeError(
                f"router could not listen on {self.url}: {failure[0] if failure else 'timeout'}"
            )

    def disable(self) -> None:
        """Stop serving and close upstream connections; safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and loop.is_running():
            # open SSE streams are cut after the grace period, not waited for
            with contextlib.suppress(TimeoutError, RuntimeError):
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=15)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
        self._thread = self._loop = None

    start, stop = enable, disable

    def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._startup())
        except BaseException as exc:  # reported to enable()
            failure.append(exc)
            ready.set()
            return
        ready.set()
        loop.run_forever()
        try:
            # disable() stops the loop after waiting a bounded time for _shutdown: on a busy machine
            # that wait can expire with handlers still holding upstream connections. Finish them
            # and close the session here, so no socket outlives the router.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            if self._runner is not None:  # idempotent: a cancelled _shutdown may have stopped midway
                with contextlib.suppress(Exception):
                    loop.run_until_complete(self._runner.cleanup())
            if self._session is not None and not self._session.closed:
                loop.run_until_complete(self._session.close())
        finally:
            loop.close()

    async def _startup(self) -> None:
        import aiohttp
        from aiohttp import web

        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=5),
            # Idle upstream connections are dropped before uvicorn's own keep-alive timeout (5 s):
            # else a request sent on a connection the replica is closing fails with "Can not
            # write request body" and the user gets a 502 (seen in a functional run).
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=UPSTREAM_KEEPALIVE_S),
            auto_decompress=False,
        )
        server = web.Server(self._handle, logger=_server_logger())
        self._runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port, backlog=1024).start()

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.shutdown()  # stop accepting; handlers get a short grace period
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _handle(self, request: Any) -> Any:
        import aiohttp
        from aiohttp import web

        track, backend = self.pick()
        if backend is None:
            return web.Response(status=503, text=f"no {track} backend\n", headers={"X-Routed-Track": track})
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        if request.content_length is not None:
            headers["Content-Length"] = str(request.content_length)
        headers["X-Forwarded-For"] = request.remote or ""
        url = f"http://{backend[0]}:{backend[1]}{request.rel_url}"
        body = request.content if request.body_exists else None
        try:
            async with self._session.request(
                request.method, url, headers=headers, data=body, allow_redirects=False
            ) as upstream:
                return await self._relay(request, upstream, track)
        except (TimeoutError, aiohttp.ClientError) as exc:
            self._count(track, "upstream_errors")
            self._count(track, "errors_5xx")
            return web.json_response(
                {"error": {"code": "bad_gateway", "message": f"upstream {track} {backend}: {exc}"}},
                status=502, headers={"X-Routed-Track": track, "Server": _SERVER},
            )

    async def _relay(self, request: Any, upstream: Any, track: str) -> Any:
        from aiohttp import web

        if upstream.status >= 500:
            self._count(track, "errors_5xx")
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        for key, value in upstream.headers.items():
            if key.lower() not in _HOP_BY_HOP:
                response.headers.add(key, value)
        response.headers["X-Routed-Track"] = track
        # Without this aiohttp announces itself with its version (ZAP 10036), which the app does not.
        response.headers.setdefault("Server", _SERVER)
        if upstream.headers.get("Content-Length") is not None:
            response.content_length = int(upstream.headers["Content-Length"])
        await response.prepare(request)
        async for chunk in upstream.content.iter_any():  # as it arrives: SSE stays unbuffered
            await response.write(chunk)
        await response.write_eof()
        return response


__all__ = ["Address", "Router", "choose_track"]
