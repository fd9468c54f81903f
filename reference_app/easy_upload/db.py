"""PostgreSQL access: one async pool per process and the few queries the app needs."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from easy_upload.errors import BadRequest

TERMINAL_STATES = ("completed", "failed")
_COLUMNS = (
    "id, user_id, filename, content_type, size_bytes, sha256, raw_key, state, progress, event_seq, "
    "attempts, completions, failure_reason, result_key, manifest, created_at, updated_at"
)


@dataclass(slots=True)
class Upload:
    """One row of ``uploads``."""

    id: uuid.UUID
    user_id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    raw_key: str
    state: str
    progress: int
    event_seq: int
    attempts: int
    completions: int
    failure_reason: str | None
    result_key: str | None
    manifest: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES


def make_pool(database_url: str, max_size: int = 10) -> AsyncConnectionPool:
    """A pool that checks connections on checkout, so it heals by itself after a PostgreSQL restart."""
    return AsyncConnectionPool(
        database_url,
        min_size=1,
        max_size=max_size,
        open=False,
        timeout=3.0,
        kwargs={"connect_timeout": 2, "autocommit": True},
        check=AsyncConnectionPool.check_connection,
        reconnect_timeout=0,
    )


async def user_for_token(pool: AsyncConnectionPool, token_hash: str) -> str | None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT user_id FROM api_tokens WHERE token_hash = %s AND revoked_at IS NULL", (token_hash,)
        )
        row = await cur.fetchone()
    return str(row[0]) if row else None


async def insert_upload(conn: psycopg.AsyncConnection[Any], upload: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO uploads (id, user_id, filename, content_type, size_bytes, sha256, raw_key) "
        "VALUES (%(id)s, %(user_id)s, %(filename)s, %(content_type)s, %(size_bytes)s, %(sha256)s, "
        "%(raw_key)s)",
        upload,
    )


async def delete_upload(pool: AsyncConnectionPool, upload_id: str) -> None:
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM uploads WHERE id = %s", (upload_id,))


async def get_upload(pool: AsyncConnectionPool, upload_id: str, user_id: str | None = None) -> Upload | None:
    """The upload, or None when it does not exist or belongs to someone else."""
    try:
        key = uuid.UUID(upload_id)
    except ValueError:
        return None
    where, params = ("id = %s", [key]) if user_id is None else ("id = %s AND user_id = %s", [key, user_id])
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=class_row(Upload))
        await cur.execute(f"SELECT {_COLUMNS} FROM uploads WHERE {where}", params)
        return await cur.fetchone()


def encode_cursor(upload: Upload) -> str:
    return base64.urlsafe_b64encode(f"{upload.created_at.isoformat()}|{upload.id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        stamp, _, ident = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(stamp), uuid.UUID(ident)
    except ValueError as exc:
        raise BadRequest("invalid cursor") from exc


async def list_uploads(
    pool: AsyncConnectionPool, user_id: str, limit: int, cursor: str | None
) -> tuple[list[Upload], str | None]:
    """The user's uploads, newest first, keyset-paginated; returns (page, next cursor)."""
    where, params = "user_id = %s", [user_id]
    if cursor:
        stamp, ident = _decode_cursor(cursor)
        where += " AND (created_at, id) < (%s, %s)"
        params += [stamp, ident]  # type: ignore[list-item]
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=class_row(Upload))
        await cur.execute(
            f"SELECT {_COLUMNS} FROM uploads WHERE {where} ORDER BY created_at DESC, id DESC LIMIT %s",
            [*params, limit + 1],
        )
        rows = await cur.fetchall()
    page = rows[:limit]
    return page, encode_cursor(page[-1]) if len(rows) > limit else None


async def start_processing(pool: AsyncConnectionPool, upload_id: str) -> Upload | None:
    """Mark a queued (or stalled-and-retried) upload as processing; None when it is already final."""
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=class_row(Upload))
        await cur.execute(
            "UPDATE uploads SET state = 'processing', progress = 0, attempts = attempts + 1, "
            "event_seq = event_seq + 1, updated_at = now() "
            f"WHERE id = %s AND state IN ('queued', 'processing') RETURNING {_COLUMNS}",
            (upload_id,),
        )
        return await cur.fetchone()


async def set_progress(pool: AsyncConnectionPool, upload_id: str, percent: int) -> int | None:
    """Record progress; return the event id for it (None when the upload is no longer processing)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE uploads SET progress = %s, event_seq = event_seq + 1, updated_at = now() "
            "WHERE id = %s AND state = 'processing' RETURNING event_seq",
            (percent, upload_id),
        )
        row = await cur.fetchone()
    return int(row[0]) if row else None


async def complete(
    pool: AsyncConnectionPool, upload_id: str, result_key: str, manifest: dict[str, Any]
) -> int | None:
    """Commit the result once: a second attempt (after a stall) finds the row final and gets None."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE uploads SET state = 'completed', progress = 100, result_key = %s, manifest = %s, "
            "completions = completions + 1, event_seq = event_seq + 1, updated_at = now() "
            "WHERE id = %s AND state = 'processing' RETURNING event_seq",
            (result_key, Jsonb(manifest), upload_id),
        )
        row = await cur.fetchone()
    return int(row[0]) if row else None


async def fail(pool: AsyncConnectionPool, upload_id: str, reason: str) -> int | None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE uploads SET state = 'failed', failure_reason = %s, event_seq = event_seq + 1, "
            "updated_at = now() WHERE id = %s AND state IN ('queued', 'processing') RETURNING event_seq",
            (reason[:500], upload_id),
        )
        row = await cur.fetchone()
    return int(row[0]) if row else None


async def unsettled(pool: AsyncConnectionPool, idle_s: float, limit: int = 100) -> list[str]:
    """Uploads still queued or processing whose row has not moved for ``idle_s`` seconds."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id FROM uploads WHERE state IN ('queued', 'processing') "
            "AND updated_at < now() - make_interval(secs => %s) ORDER BY updated_at LIMIT %s",
            (idle_s, limit),
        )
        rows = await cur.fetchall()
    return [str(r[0]) for r in rows]
