"""Direct looks at the system's state behind the API: PostgreSQL rows, S3 objects, Redis channels.

Scenarios use these to prove what the API cannot show (no row left behind, nothing processed twice,
nothing orphaned). Only the Environment's URLs and credentials are used; the table and channel
names are the app's (``tables`` and ``events_channel`` of ``scenarios/app.yaml``).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from harness.app_profile import AppProfile
from harness.targets.base import Environment

TERMINAL = ("completed", "failed")  # the states an upload's row ends in
UPLOAD_COLUMNS = ("id", "user_id", "filename", "content_type", "size_bytes", "sha256", "raw_key", "state",
                  "progress", "event_seq", "attempts", "completions", "failure_reason", "result_key",
                  "manifest")


@dataclass(slots=True)
class UserHandle:
    """A user a scenario acts as: its token and (when known) its id in the database."""

    name: str
    token: str
    id: str | None = None


class Backends:
    """Lazily opened clients for one environment's database, object store and Redis."""

    def __init__(self, env: Environment, app: AppProfile | None = None) -> None:
        self.env = env
        self.app = app or AppProfile()
        self._s3: Any = None
        self._lock = threading.Lock()

    @property
    def has_database(self) -> bool:
        return bool(self.env.database_url)

    def _sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        assert self.env.database_url is not None
        with psycopg.connect(self.env.database_url, connect_timeout=5, autocommit=True) as conn:
            cur = conn.execute(query, params)
            return list(cur.fetchall()) if cur.description else []

    # -- users ---------------------------------------------------------------------------------

    def create_user(self, name: str, *, revoked: bool = False) -> UserHandle:
        """A fresh user with a fresh token (per scenario, so scenarios never see each other's rows)."""
        token = "eu_" + secrets.token_urlsafe(32)
        user_id = str(uuid.uuid4())
        users, tokens = self.app.table("users"), self.app.table("tokens")
        self._sql(f"INSERT INTO {users} (id, name) VALUES (%s, %s)", (user_id, f"{name}-{user_id[:8]}"))
        self._sql(f"INSERT INTO {tokens} (token_hash, user_id, revoked_at) VALUES (%s, %s, "
                  + ("now())" if revoked else "NULL)"), (_hash(token), user_id))
        return UserHandle(name, token, user_id)

    def user_id(self, token: str) -> str | None:
        tokens = self.app.table("tokens")
        rows = self._sql(f"SELECT user_id FROM {tokens} WHERE token_hash = %s", (_hash(token),))
        return str(rows[0][0]) if rows else None

    # -- rows ----------------------------------------------------------------------------------

    def row(self, upload_id: str) -> dict[str, Any] | None:
        rows = self.rows([upload_id])
        return rows.get(upload_id)

    def rows(self, upload_ids: list[str]) -> dict[str, dict[str, Any]]:
        if not upload_ids:
            return {}
        return self._rows_where("id", upload_ids)

    def rows_of_users(self, user_ids: list[str]) -> dict[str, dict[str, Any]]:
        return self._rows_where("user_id", user_ids)

    def _rows_where(self, column: str, values: list[str]) -> dict[str, dict[str, Any]]:
        found = self._sql(f"SELECT {', '.join(UPLOAD_COLUMNS)} FROM {self.app.table('uploads')} "
                          f"WHERE {column}::text = ANY(%s)", (list(values),))
        return {str(r[0]): _row(r) for r in found}

    def known_ids(self, upload_ids: list[str]) -> set[str]:
        if not upload_ids:
            return set()
        return set(self._rows_where("id", upload_ids))

    # -- objects -------------------------------------------------------------------------------

    @property
    def s3(self) -> Any:
        with self._lock:
            if self._s3 is None:
                import boto3
                from botocore.config import Config

                aws = self.env.aws
                self._s3 = boto3.session.Session().client(
                    "s3", endpoint_url=aws.endpoint_url, region_name=aws.region,
                    aws_access_key_id=aws.access_key_id, aws_secret_access_key=aws.secret_access_key,
                    config=Config(connect_timeout=3, read_timeout=30, retries={"max_attempts": 2},
                                  s3={"addressing_style": "path"}),
                )
            return self._s3

    def bucket(self, logical: str) -> str:
        buckets = self.env.aws.buckets
        return buckets.get(logical) or buckets.get(f"{logical}-uploads") or f"{logical}-uploads"

    def get_object(self, logical: str, key: str) -> bytes | None:
        try:
            body: bytes = self.s3.get_object(Bucket=self.bucket(logical), Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        return body

    def keys(self, logical: str, prefix: str = "") -> list[str]:
        keys: list[str] = []
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket(logical), Prefix=prefix)
        for page in pages:
            keys += [item["Key"] for item in page.get("Contents", [])]
        return keys

    def object_owner(self, logical: str, key: str) -> str | None:
        try:
            head = self.s3.head_object(Bucket=self.bucket(logical), Key=key)
        except Exception:
            return None
        owner = head.get("Metadata", {}).get("user-id")
        return str(owner) if owner else None

    def open_multipart(self, logical: str) -> list[str]:
        found = self.s3.list_multipart_uploads(Bucket=self.bucket(logical)).get("Uploads", [])
        return [f"{item['Key']}#{item['UploadId']}" for item in found]

    # -- redis ---------------------------------------------------------------------------------

    def subscribers(self, upload_id: str) -> int:
        import redis

        if not self.env.redis_url:
            raise LookupError("the environment has no redis_url")
        if not self.app.events_channel:
            raise LookupError(f"{self.app.source}: events_channel is not set")
        client = redis.Redis.from_url(self.env.redis_url, socket_timeout=3)
        try:
            counts = client.pubsub_numsub(self.app.events_channel.format(id=upload_id))
        finally:
            client.close()
        return int(counts[0][1]) if counts else 0


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _row(values: tuple[Any, ...]) -> dict[str, Any]:
    row = dict(zip(UPLOAD_COLUMNS, values, strict=True))
    row["id"], row["user_id"] = str(row["id"]), str(row["user_id"])
    return row


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


__all__ = ["TERMINAL", "Backends", "UserHandle", "sha256"]
