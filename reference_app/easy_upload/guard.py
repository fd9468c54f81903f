"""Limits on the request body as it is actually read, whatever the headers claim.

Content-Length is only a claim (and chunked bodies have none): the guard counts the bytes the app
receives and refuses past the limit (413), and it bounds how long the body may take. After
``grace_s`` seconds the body must keep an average of ``min_rate`` bytes/s, and no single wait for
more bytes may exceed ``idle_s``; a client that trickles one byte a second is answered 408 at
about ``grace_s`` seconds. (The headers before the body are bounded in server.py.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.types import Message, Receive

from easy_upload.errors import PayloadTooLarge, RequestTimeout


@dataclass(frozen=True, slots=True)
class BodyPolicy:
    """How much and how slowly a request body may arrive."""

    limit: int
    idle_s: float
    grace_s: float
    min_rate: float

    def longest_s(self) -> float:
        """The longest a body within the limit may take (the bound an operator can rely on)."""
        return self.grace_s + self.limit / self.min_rate


@dataclass(slots=True)
class BodyGuard:
    """Wraps an ASGI ``receive``: counts body bytes and enforces ``policy``."""

    receive: Receive
    policy: BodyPolicy
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)
    seen: int = 0
    complete: bool = False  # the whole body is in: later receives only wait for a disconnect
    failed: Exception | None = None

    def __post_init__(self) -> None:
        self.started = self.clock()

    def _wait_s(self) -> float:
        """How long the next chunk may take: the idle bound, or until the average rate fails."""
        rate_deadline = self.started + self.policy.grace_s + self.seen / self.policy.min_rate
        return max(0.0, min(self.policy.idle_s, rate_deadline - self.clock()))

    async def __call__(self) -> Message:
        if self.failed is not None:
            raise self.failed
        if self.complete:
            return await self.receive()
        try:
            message = await asyncio.wait_for(self.receive(), self._wait_s())
        except TimeoutError:
            self.failed = RequestTimeout(
                f"request body too slow (it must average {int(self.policy.min_rate)} bytes/s "
                f"after {self.policy.grace_s:g} s, with no pause over {self.policy.idle_s:g} s)"
            )
            raise self.failed from None
        if message["type"] == "http.request":
            self.complete = not message.get("more_body", False)
            self.seen += len(message.get("body", b""))
            if self.seen > self.policy.limit:
                self.failed = PayloadTooLarge(f"request body larger than {self.policy.limit} bytes")
                raise self.failed
        return message
