"""When does BullMQ run a retry that is due after a delay longer than redis-py's 5 s socket timeout?

    python -m tests.reference_app.retry_timing REDIS_URL [DELAY_MS] [WAIT_S]

Runs a Worker built with the app's ``worker_options`` on a fresh queue; its processor fails the
first attempt, and the job's backoff puts the second one ``DELAY_MS`` later. Nothing else is
added to the queue. Prints ``{"due_s": ..., "ran_s": ... or null}`` (seconds after the first run).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import Any

from bullmq import Queue, Worker

from easy_upload.settings import Settings
from easy_upload.worker import worker_options


async def main(redis_url: str, delay_ms: int, wait_s: float) -> dict[str, Any]:
    name = f"retry-timing-{uuid.uuid4().hex[:8]}"
    runs: list[float] = []

    async def processor(job: Any, token: str) -> None:
        runs.append(time.monotonic())
        if len(runs) == 1:
            raise RuntimeError("first attempt fails")

    options = {**worker_options(Settings(redis_url=redis_url)), "concurrency": 1}
    worker = Worker(name, processor, options)
    queue = Queue(name, {"connection": redis_url})
    runner = asyncio.create_task(worker.run())
    try:
        await queue.add("p", {}, {"attempts": 2, "backoff": {"type": "fixed", "delay": delay_ms}})
        deadline = time.monotonic() + delay_ms / 1000 + wait_s + 5
        while len(runs) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await worker.close(force=True)
        runner.cancel()
        await queue.obliterate(force=True)
        await queue.close()
    ran = runs[1] - runs[0] if len(runs) > 1 else None
    return {"due_s": delay_ms / 1000, "ran_s": ran}


if __name__ == "__main__":
    args = sys.argv[1:]
    result = asyncio.run(main(args[0], int(args[1]) if len(args) > 1 else 8000,
                              float(args[2]) if len(args) > 2 else 6.0))
    print(json.dumps(result))
