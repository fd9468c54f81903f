"""The endpoints. Each one authenticates first; someone else's upload is indistinguishable from none."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse

from easy_upload import db, downloads
from easy_upload.deps import ServicesDep, UserDep, owned
from easy_upload.errors import HttpError, PayloadTooLarge, TooManyRequests, UnsupportedType
from easy_upload.receiver import UploadReceiver, receive
from easy_upload.schemas import (
    AUTH_ERRORS,
    Download,
    ErrorResponse,
    UploadList,
    UploadOut,
    error_responses,
)
from easy_upload.services import Services, job_options
from easy_upload.storage import delete_object

log = logging.getLogger("easy_upload")
router = APIRouter()
DRAIN_LIMIT_BYTES = 16 * 1024 * 1024
SECURED: list[dict[str, list[str]]] = [{"bearer": []}]
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+={0,2}$"  # what db.encode_cursor makes: URL-safe base64


async def _drain(request: Request) -> None:
    """Read (and drop) what the client is still sending, so it can read our refusal; bounded."""
    seen = 0
    try:
        async with asyncio.timeout(10):
            async for chunk in request.stream():
                seen += len(chunk)
                if seen > DRAIN_LIMIT_BYTES:
                    return
    except Exception:
        return


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "PNG, JPEG, WebP, GIF, PDF, plain text, CSV or JSON",
                        }
                    },
                }
            }
        },
    }
}


@router.post(
    "/api/uploads",
    status_code=201,
    response_model=UploadOut,
    tags=["uploads"],
    openapi_extra=UPLOAD_BODY,
    responses=error_responses(
        400,
        401,
        408,
        413,
        415,
        429,
        500,
        503,
        described={
            400: "Not multipart/form-data with a boundary, a malformed body, or not exactly one "
            "complete `file` part",
            413: "The file exceeds MAX_UPLOAD_BYTES (checked from Content-Length and while streaming)",
            415: "Type not allowed, or the content does not match the claimed type or extension "
            "(decided by magic bytes: PNG, JPEG, WebP, GIF, PDF, text, CSV, JSON)",
            429: "This user already has MAX_UPLOADS_PER_USER uploads in progress on this replica; "
            "retry after `Retry-After` seconds",
        },
    ),
)
async def create_upload(request: Request, services: ServicesDep, user: UserDep) -> JSONResponse:
    """Stream one file to raw storage, record it and queue it for processing."""
    try:
        slot = services.upload_limits.acquire(user)
    except TooManyRequests:
        services.metrics.limited.labels("uploads", services.settings.app_version).inc()
        await _drain(request)
        raise
    try:
        return await _create_upload(request, services, user)
    finally:
        slot.release()


async def _create_upload(request: Request, services: Services, user: str) -> JSONResponse:
    settings, upload_id = services.settings, str(uuid.uuid4())
    receiver = UploadReceiver(
        services.s3,
        settings.raw_bucket,
        f"uploads/{upload_id}",
        settings.max_upload_bytes,
        settings.part_size_bytes,
        {"upload-id": upload_id, "user-id": user},
        tracker=services.multipart,
    )
    try:
        got = await receive(request.stream(), request.headers.get("content-type"), receiver)
    except (PayloadTooLarge, UnsupportedType) as exc:
        services.metrics.uploads.labels(exc.code, settings.app_version).inc()
        await _drain(request)
        raise
    row = {
        "id": upload_id,
        "user_id": user,
        "filename": got.filename,
        "content_type": got.ftype.mime,
        "size_bytes": got.size,
        "sha256": got.sha256,
        "raw_key": got.key,
    }
    await _record_and_enqueue(services, row)
    services.metrics.upload_bytes.labels(settings.app_version).inc(got.size)
    services.metrics.upload_size.labels(settings.app_version).observe(got.size)
    services.metrics.uploads.labels("accepted", settings.app_version).inc()
    upload = await owned(services, upload_id, user)
    log.info("upload accepted", extra={"upload_id": upload_id, "type": got.ftype.mime, "size": got.size})
    return JSONResponse(
        UploadOut.of(upload).model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/api/uploads/{upload_id}"},
    )


async def _record_and_enqueue(services: Services, row: dict[str, Any]) -> None:
    """Row and job commit together or not at all; on failure the stored object is removed too."""
    try:
        async with services.pool.connection() as conn, conn.transaction():
            await db.insert_upload(conn, row)
            await services.queue.add(
                "process", {"upload_id": row["id"]}, job_options(services.settings, row["id"])
            )
    except BaseException:
        await delete_object(services.s3, services.settings.raw_bucket, row["raw_key"])
        await _forget_job(services, row["id"])
        raise


async def _forget_job(services: Services, upload_id: str) -> None:
    try:
        await asyncio.wait_for(services.queue.remove(upload_id), 2.0)
    except Exception:
        return


LIST_ERRORS = error_responses(
    400, 401, 500, 503, described={400: "Invalid `limit`, or an invalid cursor (not a `next_cursor` we gave)"}
)


@router.get("/api/uploads", response_model=UploadList, tags=["uploads"], responses=LIST_ERRORS)
async def list_uploads(
    services: ServicesDep,
    user: UserDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=CURSOR_PATTERN,
            description="`next_cursor` of the previous page (opaque, URL-safe base64)",
        ),
    ] = None,
) -> UploadList:
    """The caller's uploads, newest first."""
    page, next_cursor = await db.list_uploads(services.pool, user, limit, cursor)
    return UploadList(items=[UploadOut.of(u) for u in page], next_cursor=next_cursor)


@router.get("/api/uploads/{upload_id}", response_model=UploadOut, tags=["uploads"], responses=AUTH_ERRORS)
async def get_upload(upload_id: str, services: ServicesDep, user: UserDep) -> UploadOut:
    return UploadOut.of(await owned(services, upload_id, user))


@router.get(
    "/api/uploads/{upload_id}/download",
    response_model=Download,
    tags=["uploads"],
    responses=error_responses(400, 401, 404, 409, 500, 503),
)
async def download(upload_id: str, services: ServicesDep, user: UserDep) -> Download:
    """Presigned URLs of the processed result, its manifest and (images) thumbnail; each link is
    served as an attachment with the type the worker detected, never rendered inline."""
    upload = await owned(services, upload_id, user)
    if upload.state != "completed" or not upload.result_key:
        raise _NotReady(f"upload is {upload.state}")
    prefix, manifest = str(upload.id), upload.manifest or {}
    names = [e["name"] for e in manifest.get("extras", [])]
    result_type = str(manifest.get("result", {}).get("content_type") or "application/octet-stream")
    result_name = downloads.result_filename(upload.filename, upload.result_key)

    async def sign(key: str, content_type: str, filename: str) -> str:
        params = downloads.presign_params(services.settings.processed_bucket, key, content_type, filename)
        url: str = await to_thread.run_sync(lambda: services.s3_public.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=services.settings.presign_ttl_s))
        return url

    url = await sign(upload.result_key, result_type, result_name)
    manifest_url = await sign(f"{prefix}/manifest.json", "application/json", "manifest.json")
    thumb = (await sign(f"{prefix}/thumbnail.png", "image/png", "thumbnail.png")
             if "thumbnail.png" in names else None)
    return Download(url=url, manifest_url=manifest_url, thumbnail_url=thumb,
                    expires_in=services.settings.presign_ttl_s, manifest=upload.manifest)


class _NotReady(HttpError):
    status, code = 409, "not_ready"


__all__ = ["ErrorResponse", "router"]
