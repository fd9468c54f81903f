"""uvicorn's h11 protocol with a deadline for request headers (slowloris).

uvicorn bounds the size of incomplete headers (``h11_max_incomplete_event_size``) and the idle
time after a response (``timeout_keep_alive``), but not the time headers may take: a connection
that sends one header byte a second, or nothing at all after connecting, stays open for good
(uvicorn/protocols/http/h11_impl.py arms its only timer in ``on_response_complete``). Here a timer
runs from the moment the connection (or the next request on it) starts until its headers are
complete; when it fires the client gets a 408 and the connection is closed. Body timeouts are the
ASGI guard's (guard.py).
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from easy_upload.settings import Settings

_BODY = b'{"error": {"code": "request_timeout", "message": "request headers arrived too slowly"}}'
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: " + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY
)


@functools.cache
def header_timeout_s() -> float:
    return Settings.from_env().header_timeout_s


class HeaderDeadlineProtocol(H11Protocol):
    """H11Protocol whose requests must have sent their headers within ``HEADER_TIMEOUT_S``."""

    header_timer: asyncio.TimerHandle | None = None
    _armed_for: Any = None  # the request cycle that was current when the timer started

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self.header_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()  # bytes of a new request on a kept-alive connection
        cycle = self.cycle
        super().data_received(data)
        if self.cycle is not cycle:  # h11 produced a Request: the headers are complete
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._armed_for = self.cycle
        self.header_timer = self.loop.call_later(header_timeout_s(), self._expired)

    def _disarm(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _expired(self) -> None:
        self.header_timer = None
        if self.cycle is not None and not self.cycle.response_complete and self.cycle is not self._armed_for:
            return  # a (pipelined) request's headers completed after all: it is being served
        if not self.transport.is_closing():
            self.transport.write(TIMEOUT_RESPONSE)
            self.transport.close()
