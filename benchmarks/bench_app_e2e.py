"""End-to-end benchmark: 100 KiB uploads from 20 concurrent clients, POST until the `completed` event.

Also collects SSE delivery latency (worker publish -> client receipt) from the same streams.

    python benchmarks/bench_app_e2e.py [--clients 20] [--uploads-per-client 10] [--size-kib 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import httpx
from bench_app_common import AppStack, app_stack, summary


def payload(size: int, n: int) -> bytes:
    line = f"row {n},easy upload end-to-end benchmark,{'x' * 40}\n".encode()
    return (line * (size // len(line) + 1))[:size]


async def one(client: httpx.AsyncClient, size: int, n: int, publish_lags: list[float]) -> float:
    """Upload, then follow the events to `completed`; return POST-to-completed seconds."""
    started = time.perf_counter()
    created = await client.post("/api/uploads", files={"file": (f"f{n}.csv", payload(size, n), "text/csv")})
    created.raise_for_status()
    upload_id = created.json()["id"]
    event = ""
    async with client.stream("GET", f"/api/uploads/{upload_id}/events") as stream:
        async for line in stream.aiter_lines():
            received = time.time()
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data = json.loads(line.split(":", 1)[1])
                if "ts" in data:  # sent live by the worker (snapshots have no send time)
                    publish_lags.append(received - float(data["ts"]))
                if event in ("completed", "failed"):
                    if event == "failed":
                        raise RuntimeError(f"upload {upload_id} failed: {data}")
                    return time.perf_counter() - started
    raise RuntimeError(f"stream of {upload_id} ended without a final event")


async def client_loop(
    stack: AppStack, uploads: int, size: int, base: int, totals: list[float], lags: list[float]
) -> None:
    headers = {"Authorization": f"Bearer {stack.token}"}
    async with httpx.AsyncClient(base_url=stack.base_url, headers=headers, timeout=120) as client:
        for n in range(uploads):
            totals.append(await one(client, size, base + n, lags))


async def run(
    stack: AppStack, clients: int, uploads: int, size: int
) -> tuple[list[float], list[float], float]:
    totals: list[float] = []
    lags: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(
        *(client_loop(stack, uploads, size, c * uploads, totals, lags) for c in range(clients))
    )
    return totals, lags, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--uploads-per-client", type=int, default=10)
    parser.add_argument("--size-kib", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--worker-concurrency", type=int, default=8)
    args = parser.parse_args()
    with app_stack(workers=args.workers, WORKER_CONCURRENCY=str(args.worker_concurrency)) as stack:
        asyncio.run(run(stack, 2, 2, args.size_kib * 1024))  # warm-up, not measured
        totals, lags, wall = asyncio.run(
            run(stack, args.clients, args.uploads_per_client, args.size_kib * 1024)
        )
    print(
        f"{args.clients} clients x {args.uploads_per_client} uploads of {args.size_kib} KiB, "
        f"{args.workers} worker(s) x concurrency {args.worker_concurrency}"
    )
    print(f"POST -> completed: {summary(totals)}; throughput {len(totals) / wall:.1f} uploads/s")
    print(f"SSE delivery (worker publish -> client receipt): {summary(lags)}")


if __name__ == "__main__":
    main()
