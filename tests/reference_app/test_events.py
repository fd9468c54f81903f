"""EventFeed in-process against a scripted subscription: event order and ids, deterministically.

The fake models hub.Subscription: ``get`` returns the next published message or None after the
wait; once the hub's connection is down it stops being ``live``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import uuid
from collections.abc import Iterable

import pytest

from easy_upload.db import Upload
from easy_upload.events import EventFeed, UploadEvent

UID = uuid.UUID("00000000-0000-4000-8000-000000000001")
SUBSCRIBED, TIMEOUT, DOWN = "subscribed", "timeout", "down"
Step = str | UploadEvent


def row(seq: int, state: str, progress: int = 0) -> Upload:
    now = dt.datetime.now(dt.UTC)
    manifest = {"detected_type": "text/plain"} if state == "completed" else None
    return Upload(UID, UID, "a.txt", "text/plain", 1, "0" * 64, "k", state, progress, seq, 1, 0,
                  "bad" if state == "failed" else None, None, manifest, now, now)


def live(seq: int, event: str = "progress", progress: int = 0) -> UploadEvent:
    state = "processing" if event == "progress" else event
    return UploadEvent(seq, event, {"upload_id": str(UID), "state": state, "progress": progress,
                                    "stage": "step"})


class FakeSubscription:
    def __init__(self, script: Iterable[Step]) -> None:
        # The hub keeps subscribe confirmations to itself: a stream never sees them.
        self.script, self.down = [step for step in script if step != SUBSCRIBED], False

    @property
    def live(self) -> bool:
        if self.script and self.script[0] == DOWN:
            self.down = True
        return not self.down

    async def get(self, timeout: float) -> str | None:
        step = self.script.pop(0) if self.script else TIMEOUT
        if step == TIMEOUT:
            await asyncio.sleep(0)
            return None
        assert isinstance(step, UploadEvent)
        return step.to_json()

    async def close(self) -> None:
        return None


class FakeHub:
    def __init__(self, script: Iterable[Step]) -> None:
        self.script = script

    async def subscribe(self, channel: str) -> FakeSubscription:
        return FakeSubscription(self.script)


def run(rows: list[Upload | None], script: Iterable[Step], after: int = 0) -> list[UploadEvent]:
    """The events a client gets; ``rows`` are successive reads of the row (the last one repeats)."""
    reads = list(rows)

    async def fetch() -> Upload | None:
        return reads.pop(0) if len(reads) > 1 else reads[0]

    async def go() -> list[UploadEvent]:
        feed = EventFeed(FakeHub(script), str(UID), fetch, after=after, recheck_s=0.01)
        await feed.open()
        seen: list[UploadEvent] = []
        async with asyncio.timeout(10):
            async for event in feed.events():
                seen.append(event)
        await feed.close()
        return seen

    return asyncio.run(go())


def check_contract(events: list[UploadEvent], after: int = 0) -> None:
    names = [e.event for e in events]
    assert names[0] in {"state", "progress", "completed", "failed"}, names
    assert names.count("state") <= 1 and "state" not in names[1:], names
    assert names[-1] in {"completed", "failed"} and all(n == "progress" for n in names[1:-1]), names
    ids = [e.id for e in events]
    assert all(a < b for a, b in itertools.pairwise(ids)), ids
    assert all(i > after for i in ids), (ids, after)


def test_the_subscribe_confirmation_does_not_cause_a_second_state() -> None:
    # The worker moves the row to `processing` (seq 2) between the first read and the first wait.
    events = run([row(1, "queued"), row(2, "processing")],
                 [SUBSCRIBED, live(2), live(3, progress=50), live(4, "completed", 100)])
    check_contract(events)
    assert [(e.event, e.id) for e in events] == [("state", 1), ("progress", 2), ("progress", 3),
                                                 ("completed", 4)]
    assert events[1].data["stage"] == "step"  # the live event, not a re-read


def test_a_mid_stream_reread_is_progress_and_its_live_copy_is_not_repeated() -> None:
    events = run([row(1, "queued"), row(2, "processing", 10), row(3, "completed", 100)],
                 [SUBSCRIBED, TIMEOUT, live(2, progress=10), TIMEOUT, live(3, "completed", 100)])
    check_contract(events)
    assert [(e.event, e.id) for e in events] == [("state", 1), ("progress", 2), ("completed", 3)]
    assert events[1].data["progress"] == 10


def test_without_redis_the_row_alone_drives_the_stream() -> None:
    events = run([row(1, "queued"), row(1, "queued"), row(2, "processing", 40), row(2, "processing", 40),
                  row(3, "failed")], [SUBSCRIBED, DOWN])
    check_contract(events)
    assert [(e.event, e.id) for e in events] == [("state", 1), ("progress", 2), ("failed", 3)]


def test_resume_at_the_current_sequence_sends_nothing_seen_again() -> None:
    events = run([row(3, "processing", 30)],
                 [SUBSCRIBED, live(2), live(3, progress=30), TIMEOUT, live(4, progress=60),
                  live(5, "completed", 100)], after=3)
    check_contract(events, after=3)
    assert [(e.event, e.id) for e in events] == [("progress", 4), ("completed", 5)]


def test_resume_behind_a_live_upload_starts_with_one_state() -> None:
    events = run([row(3, "processing", 30)], [SUBSCRIBED, live(4, "completed", 100)], after=1)
    check_contract(events, after=1)
    assert [(e.event, e.id) for e in events] == [("state", 3), ("completed", 4)]


@pytest.mark.parametrize("after", [0, 3, 4, 99])
def test_a_final_upload_always_sends_its_terminal_event_once(after: int) -> None:
    # The one exception to "no id <= Last-Event-ID": the client must learn the outcome.
    events = run([row(4, "completed", 100)], [SUBSCRIBED, live(4, "completed", 100)], after=after)
    assert [(e.event, e.id) for e in events] == [("completed", 4)]
    assert events[0].data["download"] == f"/api/uploads/{UID}/download"


def test_a_deleted_upload_ends_failed() -> None:
    events = run([row(2, "processing"), None], [SUBSCRIBED, TIMEOUT], after=2)
    assert [(e.event, e.id) for e in events] == [("failed", 3)]
