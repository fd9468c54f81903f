"""Every upload reaches a final state, also when its job cannot: the crash-loop guard and the sweep.

A job whose attempts keep dying (the worker is OOM-killed or stalls on a hostile file) is failed
by BullMQ's stalled-job check without running again, which no processor sees: the row would stay
`processing` for good. Two guards settle it:

* at the start of an attempt, a job that was already interrupted ``MAX_INTERRUPTIONS`` times (row
  starts minus attempts BullMQ recorded as failed) fails now with a reason, instead of being run
  into the same crash again;
* a sweep in every worker fails rows that have not moved for ``SETTLE_AFTER_S`` seconds while
  their job is failed, completed or gone from the queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bullmq import Queue
from psycopg_pool import AsyncConnectionPool

from easy_upload import db

log = logging.getLogger("easy_upload.worker")
# As many as BullMQ's maxStalledCount (worker_options): the attempt after the last tolerated
# stall is the one that settles the row.
MAX_INTERRUPTIONS = 2
INTERRUPTED_REASON = (
    "processing was interrupted repeatedly (the worker stopped or ran out of memory on this file); "
    "it is not retried"
)
_SWEEP_REASONS = {
    "failed": "processing stopped: the job failed without finishing",
    "completed": "processing stopped: the job ended without a result",
    "unknown": "processing stopped: the job was lost",
}
Fail = Callable[[str, str], Awaitable[None]]


def interruptions(starts: int, failed_attempts: int) -> int:
    """Earlier starts of this job that neither finished nor failed (a crash or a stall)."""
    return max(0, starts - 1 - failed_attempts)


async def sweep(pool: AsyncConnectionPool, queue: Queue, idle_s: float, fail: Fail) -> list[str]:
    """Fail the unsettled uploads whose job can no longer settle them; return their ids."""
    settled = []
    for upload_id in await db.unsettled(pool, idle_s):
        state = await queue.getJobState(upload_id)
        reason = _SWEEP_REASONS.get(str(state))
        if reason is not None:
            await fail(upload_id, reason)
            settled.append(upload_id)
    return settled


async def sweep_forever(pool: AsyncConnectionPool, queue: Queue, idle_s: float, fail: Fail) -> None:
    """Sweep every ``idle_s / 4`` seconds (at least every second) until cancelled."""
    while True:
        await asyncio.sleep(max(1.0, idle_s / 4))
        try:
            settled = await sweep(pool, queue, idle_s, fail)
        except Exception as exc:  # an outage: the next round tries again
            log.warning("settle sweep failed", extra={"error": type(exc).__name__})
            continue
        if settled:
            log.warning("settled stuck uploads", extra={"uploads": settled})
