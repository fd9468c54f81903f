"""SSE delivery benchmark: p95 from the worker's publish to the client's receipt.

Every live event carries the worker's send time (`ts`); clients subscribe before the worker starts
(few uploads at a time, slowed steps), so every progress event is received live.

    python benchmarks/bench_app_sse.py [--uploads 40] [--concurrent 10]
"""

from __future__ import annotations

import argparse
import asyncio

import httpx
from bench_app_common import app_stack, summary
from bench_app_e2e import one


async def run(base_url: str, token: str, uploads: int, concurrent: int) -> list[float]:
    lags: list[float] = []
    gate = asyncio.Semaphore(concurrent)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120) as client:

        async def guarded(n: int) -> None:
            async with gate:
                await one(client, 10 * 1024, n, lags)

        await asyncio.gather(*(guarded(n) for n in range(uploads)))
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=40)
    parser.add_argument("--concurrent", type=int, default=10)
    args = parser.parse_args()
    # A short pause after each progress step lets the client's subscription come first.
    with app_stack(workers=1, WORKER_CONCURRENCY="10", WORKER_STEP_DELAY_MS="100") as stack:
        asyncio.run(run(stack.base_url, stack.token, 4, 2))  # warm-up, not measured
        lags = asyncio.run(run(stack.base_url, stack.token, args.uploads, args.concurrent))
    print(f"{args.uploads} uploads, {args.concurrent} concurrent streams")
    print(f"SSE delivery (worker publish -> client receipt): {summary(lags)}")


if __name__ == "__main__":
    main()
