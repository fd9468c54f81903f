"""S3 access: a client with short timeouts, and a writer that streams an upload as multipart parts.

The writer holds at most one part being filled plus ``max_in_flight`` parts on their way, so an
upload of any size costs the API a bounded amount of memory and no local disk.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any, Protocol

import boto3
from anyio import to_thread
from botocore.config import Config

from easy_upload.settings import Settings

S3Client = Any  # boto3's client type is generated at run time


class Tracker(Protocol):
    """Who is writing which multipart upload (multipart.MultipartTracker)."""

    async def started(self, key: str, upload_id: str) -> None: ...

    async def finished(self, key: str, upload_id: str) -> None: ...


def make_client(settings: Settings, *, public: bool = False) -> S3Client:
    """An S3 client that gives up quickly when the store is unreachable (the API answers 503)."""
    config = Config(
        region_name=settings.aws_region,
        connect_timeout=2,
        read_timeout=120,  # completing a multi-GiB multipart upload takes a while
        retries={"max_attempts": 2, "mode": "standard"},
        max_pool_connections=32,
        signature_version="s3v4",
        s3={"addressing_style": "path"},
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.presign_endpoint_url if public else settings.s3_endpoint_url,
        config=config,
    )


def ensure_buckets(client: S3Client, *buckets: str) -> None:
    """Create missing buckets (local and compose setups; in the cloud Terraform owns them)."""
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    for bucket in buckets:
        if bucket not in existing:
            client.create_bucket(Bucket=bucket)


class StreamingObjectWriter:
    """Write one object from a stream of chunks: one PUT if small, else a multipart upload."""

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        key: str,
        *,
        part_size: int,
        content_type: str,
        metadata: dict[str, str],
        max_in_flight: int = 3,
        tracker: Tracker | None = None,
    ) -> None:
        self.client, self.bucket, self.key, self.tracker = client, bucket, key, tracker
        self.part_size, self.content_type, self.metadata = part_size, content_type, metadata
        self.buffer = bytearray()
        self.size = 0
        self.digest = hashlib.sha256()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []
        self.in_flight: set[asyncio.Task[None]] = set()
        self.slots = asyncio.Semaphore(max_in_flight)
        self.error: BaseException | None = None

    async def write(self, data: bytes) -> None:
        self.buffer += data
        self.size += len(data)
        self.digest.update(data)
        while len(self.buffer) >= self.part_size:
            await self._reserve()  # before copying the part out: at most max_in_flight copies exist
            part = bytes(self.buffer[: self.part_size])
            del self.buffer[: self.part_size]
            self._launch(part)

    async def _reserve(self) -> None:
        if self.upload_id is None:
            started = await to_thread.run_sync(
                lambda: self.client.create_multipart_upload(
                    Bucket=self.bucket, Key=self.key, ContentType=self.content_type, Metadata=self.metadata
                )
            )
            self.upload_id = started["UploadId"]
            if self.tracker is not None:
                await self.tracker.started(self.key, started["UploadId"])
        await self.slots.acquire()
        self._raise_failure()

    def _launch(self, part: bytes) -> None:
        number = len(self.parts) + 1
        self.parts.append({"PartNumber": number})
        task = asyncio.create_task(self._upload_part(number, part))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)

    def _raise_failure(self) -> None:
        if self.error is not None:
            self.slots.release()
            raise self.error

    async def _upload_part(self, number: int, part: bytes) -> None:
        try:
            answer = await to_thread.run_sync(
                lambda: self.client.upload_part(
                    Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=part
                )
            )
            self.parts[number - 1]["ETag"] = answer["ETag"]
        except Exception as exc:
            self.error = self.error or exc
        finally:
            self.slots.release()

    async def _drain(self) -> None:
        if self.in_flight:
            await asyncio.gather(*self.in_flight)

    async def complete(self) -> None:
        """Flush the last part and make the object visible."""
        if self.upload_id is None:
            body = bytes(self.buffer)
            await to_thread.run_sync(
                lambda: self.client.put_object(
                    Bucket=self.bucket,
                    Key=self.key,
                    Body=body,
                    ContentType=self.content_type,
                    Metadata=self.metadata,
                )
            )
            return
        if self.buffer:
            await self._reserve()
            self._launch(bytes(self.buffer))
            self.buffer.clear()
        await self._drain()
        if self.error is not None:
            raise self.error
        parts = {"Parts": self.parts}
        await to_thread.run_sync(
            lambda: self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload=parts
            )
        )
        if self.tracker is not None:
            await self.tracker.finished(self.key, self.upload_id)

    async def abort(self) -> None:
        """Leave nothing behind (best effort: the store may be the thing that is down)."""
        for task in list(self.in_flight):
            task.cancel()
        await asyncio.gather(*self.in_flight, return_exceptions=True)
        if self.upload_id is not None:
            upload_id = self.upload_id
            await to_thread.run_sync(
                lambda: _quietly(
                    lambda: self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=self.key, UploadId=upload_id
                    )
                )
            )
            if self.tracker is not None:
                await self.tracker.finished(self.key, upload_id)


def _quietly(call: Any) -> None:
    try:
        call()
    except Exception:
        return


async def delete_object(client: S3Client, bucket: str, key: str) -> None:
    await to_thread.run_sync(lambda: _quietly(lambda: client.delete_object(Bucket=bucket, Key=key)))
