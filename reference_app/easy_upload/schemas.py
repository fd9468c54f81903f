"""Response models: they make /openapi.json exact, including the one error shape every error uses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from easy_upload.db import Upload


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. payload_too_large")
    message: str
    request_id: str | None = None


class ErrorResponse(BaseModel):
    """Every 4xx/5xx body."""

    error: ErrorDetail


class UploadOut(BaseModel):
    id: str
    filename: str = Field(description="sanitised client file name (metadata only)")
    content_type: str = Field(description="type decided from the file's magic bytes")
    size_bytes: int
    sha256: str
    state: str = Field(description="queued | processing | completed | failed")
    progress: int
    failure_reason: str | None = None
    manifest: dict[str, Any] | None = None
    events_url: str
    download_url: str | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, upload: Upload) -> UploadOut:
        uid = str(upload.id)
        return cls(
            id=uid,
            filename=upload.filename,
            content_type=upload.content_type,
            size_bytes=upload.size_bytes,
            sha256=upload.sha256,
            state=upload.state,
            progress=upload.progress,
            failure_reason=upload.failure_reason,
            manifest=upload.manifest,
            events_url=f"/api/uploads/{uid}/events",
            download_url=f"/api/uploads/{uid}/download" if upload.state == "completed" else None,
            created_at=upload.created_at,
            updated_at=upload.updated_at,
        )


class UploadList(BaseModel):
    items: list[UploadOut]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next page; null at the end")


class StreamToken(BaseModel):
    token: str = Field(
        description="short-lived token for ?token= on the events URL (EventSource cannot "
        "send an Authorization header)"
    )
    expires_in: int
    events_url: str


class Download(BaseModel):
    url: str = Field(description="presigned URL of the processed object")
    manifest_url: str
    thumbnail_url: str | None = None
    expires_in: int
    manifest: dict[str, Any] | None = None


class Health(BaseModel):
    status: str
    version: str
    checks: dict[str, str] = Field(default_factory=dict)


def error_responses(
    *statuses: int, described: dict[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry declaring ``statuses`` with the JSON error schema.

    ``described`` overrides the generic description of some statuses for one operation.
    """
    text = {
        400: "Bad request",
        401: "Missing or invalid token",
        404: "Not found (or not yours)",
        408: "The request body arrived too slowly",
        409: "Not ready yet",
        413: "Too large",
        415: "Type not allowed or not matching the content",
        429: "Too many concurrent requests of this kind for this user; retry after Retry-After",
        431: "Request headers too large",
        500: "Internal error (or injected fault)",
        503: "A dependency (PostgreSQL, Redis, S3) is unavailable",
    }
    text.update(described or {})
    return {status: {"model": ErrorResponse, "description": text[status]} for status in statuses}


AUTH_ERRORS = error_responses(400, 401, 404, 500, 503)  # every endpoint about one upload of the caller
