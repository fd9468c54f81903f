"""The event stream of one upload (SSE) and the short-lived token EventSource uses to open it.

A stream subscribes through the process' one Pub/Sub connection (hub.py) and holds one of the
user's MAX_STREAMS_PER_USER slots until it ends, however it ends.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

from easy_upload import auth, db
from easy_upload.deps import ServicesDep, UserDep, current_user, owned
from easy_upload.errors import TooManyRequests, Unauthorized
from easy_upload.events import EventFeed, UploadEvent
from easy_upload.schemas import AUTH_ERRORS, StreamToken, error_responses
from easy_upload.services import Services

router = APIRouter()


@router.post(
    "/api/uploads/{upload_id}/stream-token",
    response_model=StreamToken,
    tags=["uploads"],
    responses=AUTH_ERRORS,
)
async def stream_token(upload_id: str, services: ServicesDep, user: UserDep) -> StreamToken:
    """A short-lived token for the events URL of one upload (for EventSource, which cannot send headers)."""
    upload = await owned(services, upload_id, user)
    ttl = services.settings.sse_token_ttl_s
    token = auth.sign_stream_token(services.settings.signing_key(), user, str(upload.id), ttl)
    return StreamToken(token=token, expires_in=ttl, events_url=f"/api/uploads/{upload.id}/events")


async def _events_user(request: Request, services: Services, upload_id: str, token: str | None) -> str:
    if token:
        user = auth.verify_stream_token(services.settings.signing_key(), token, upload_id)
        if user is None:
            raise Unauthorized("invalid or expired stream token")
        return user
    return await current_user(request, services)


def _resume_point(last_event_id: str | None, resume_from: int | None) -> int:
    """The last event id the client has seen; a Last-Event-ID that is not ASCII digits is ignored.

    (``str.isdigit`` alone accepts "²", which ``int`` refuses: a 500.)
    """
    if last_event_id and last_event_id.isascii() and last_event_id.isdigit():
        return int(last_event_id)
    return resume_from or 0


def _as_sse(event: UploadEvent) -> ServerSentEvent:
    return ServerSentEvent(json.dumps(event.data, default=str), event=event.event, id=str(event.id))


EVENTS_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "text/event-stream: `state` (or the final event) first, then `progress`, "
        "then `completed` or `failed`; the stream then ends",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/api/uploads/{upload_id}/events",
    tags=["uploads"],
    response_class=EventSourceResponse,
    responses={**EVENTS_DOC, **AUTH_ERRORS, **error_responses(
        429, described={429: "This user already has MAX_STREAMS_PER_USER streams open on this replica"})},
)
async def upload_events(
    upload_id: str,
    request: Request,
    services: ServicesDep,
    token: Annotated[
        str | None, Query(max_length=1000, description="stream token (instead of a bearer)")
    ] = None,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
    resume_from: Annotated[
        int | None, Query(ge=0, description="like Last-Event-ID, for a new EventSource")
    ] = None,
) -> EventSourceResponse:
    """Server-sent events of one upload's processing."""
    user = await _events_user(request, services, upload_id, token)
    await owned(services, upload_id, user)
    try:
        slot = services.stream_limits.acquire(user)
    except TooManyRequests:
        services.metrics.limited.labels("streams", services.settings.app_version).inc()
        raise
    feed = EventFeed(
        services.hub,
        upload_id,
        lambda: db.get_upload(services.pool, upload_id, user),
        after=_resume_point(last_event_id, resume_from),
        recheck_s=services.settings.sse_heartbeat_s,
    )
    gauge = services.metrics.sse_open.labels(services.settings.app_version)

    async def cleanup() -> None:
        slot.release()
        await feed.close()

    try:
        await feed.open()
    except BaseException:
        await cleanup()
        raise

    async def stream() -> Any:
        gauge.inc()
        try:
            async for event in feed.events():
                yield _as_sse(event)
        finally:
            gauge.dec()
            await cleanup()

    return _Stream(
        stream(),
        cleanup=cleanup,
        ping=services.settings.sse_heartbeat_s,
        headers={"X-Accel-Buffering": "no", "Cache-Control": "no-store"},
    )


class _Stream(EventSourceResponse):
    """Runs ``cleanup`` when the response ends, also when the body never started (a client gone
    before the first byte): the stream's slot and subscription are never leaked."""

    def __init__(self, *args: Any, cleanup: Callable[[], Awaitable[None]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cleanup = cleanup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.cleanup()
