"""One user opens event streams one by one; every 10, another user uploads and /readyz is asked.

    python -m tests.reference_app.measure_streams [--planted VARIANTS] [--streams 160]

Starts real PostgreSQL, Redis and moto and one API replica (no worker: the upload stays queued and
its streams stay open); prints the statuses alice got so far and what bob and /readyz got.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
from collections import Counter
from pathlib import Path

import httpx

from tests.reference_app.app import AppProcesses, app_env, planted_env
from tests.reference_app.measure_hostile import services


async def probe(app: AppProcesses, alice: str, bob: str, streams: int) -> None:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(
            base_url=app.base_url, timeout=30, limits=limits, headers={"Authorization": f"Bearer {alice}"}))
        other = await stack.enter_async_context(httpx.AsyncClient(
            base_url=app.base_url, timeout=30, headers={"Authorization": f"Bearer {bob}"}))
        created = await http.post("/api/uploads", files={"file": ("a.txt", b"queued\n", "text/plain")})
        upload_id, statuses = created.json()["id"], Counter[int]()
        for n in range(1, streams + 1):
            response = await stack.enter_async_context(http.stream("GET", f"/api/uploads/{upload_id}/events"))
            statuses[response.status_code] += 1
            if n % 10 == 0:
                upload = await other.post("/api/uploads", files={"file": ("b.txt", b"bob\n", "text/plain")})
                ready = await other.get("/readyz")
                print(f"alice streams {n:4} {dict(statuses)} -> bob upload {upload.status_code}, "
                      f"readyz {ready.status_code}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--planted", default="")
    parser.add_argument("--streams", type=int, default=160)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="streams-") as tmp, services(Path(tmp)) as (pg, redis, moto):
        env = {**app_env(pg.url, redis.url, moto.client_env(), "streams"), **planted_env(args.planted)}
        app = AppProcesses(env, Path(tmp))
        app.command("migrate")
        app.start_api()
        try:
            alice, bob = (app.command("create-user", name).strip() for name in ("alice", "bob"))
            asyncio.run(probe(app, alice, bob, args.streams))
        finally:
            app.stop()


if __name__ == "__main__":
    main()
