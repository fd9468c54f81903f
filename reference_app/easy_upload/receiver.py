"""Read a multipart/form-data request as it arrives and stream its `file` part to S3.

Nothing is spooled: the first bytes decide the type (415 before anything is stored), the byte count
is checked on every chunk (413 mid-stream), and the rest goes to S3 part by part.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from easy_upload.errors import BadRequest, PayloadTooLarge
from easy_upload.sanitize import sanitize_filename
from easy_upload.sniff import SNIFF_BYTES, FileType, detect_type
from easy_upload.storage import S3Client, StreamingObjectWriter, Tracker

MAX_PART_HEADER_BYTES = 8 * 1024
MAX_FORM_FIELD_BYTES = 64 * 1024
MAX_PARTS = 16
MAX_BOUNDARY_CHARS = 70  # RFC 2046 section 5.1.1; python-multipart itself refuses > 256 with a crash
FILE_FIELD = "file"
Event = tuple[str, Any]


@dataclass(slots=True)
class Received:
    """The stored raw object and what we learnt about it while it streamed past."""

    key: str
    filename: str
    ftype: FileType
    size: int
    sha256: str


class MultipartEvents:
    """Wrap python-multipart's callback parser into a list of events per fed chunk."""

    def __init__(self, boundary: bytes) -> None:
        self.events: list[Event] = []
        self.headers: dict[str, str] = {}
        self.header_bytes = 0
        self.parts = 0
        self.field, self.value = bytearray(), bytearray()
        callbacks: Any = {
            "on_part_begin": self._begin,
            "on_header_field": self._on_field,
            "on_header_value": self._on_value,
            "on_header_end": self._header_end,
            "on_headers_finished": lambda: self.events.append(("part", dict(self.headers))),
            "on_part_data": lambda data, start, end: self.events.append(("data", bytes(data[start:end]))),
            "on_part_end": lambda: self.events.append(("end", None)),
            "on_end": lambda: self.events.append(("done", None)),
        }
        self.parser = MultipartParser(boundary, callbacks)

    def _begin(self) -> None:
        self.headers, self.header_bytes = {}, 0
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise BadRequest(f"too many multipart parts (at most {MAX_PARTS})")

    def _on_field(self, data: bytes, start: int, end: int) -> None:
        self._count(end - start)
        self.field += data[start:end]

    def _on_value(self, data: bytes, start: int, end: int) -> None:
        self._count(end - start)
        self.value += data[start:end]

    def _count(self, n: int) -> None:
        self.header_bytes += n
        if self.header_bytes > MAX_PART_HEADER_BYTES:
            raise BadRequest("multipart part headers too large")

    def _header_end(self) -> None:
        # latin-1 maps every byte to one code point, so the raw bytes survive python-multipart's
        # parse_options_header (which re-encodes as latin-1); `_disposition` decodes them as UTF-8.
        self.headers[self.field.decode("latin-1").lower()] = self.value.decode("latin-1")
        self.field, self.value = bytearray(), bytearray()

    def feed(self, chunk: bytes) -> list[Event]:
        try:
            self.parser.write(chunk)
        except MultipartParseError as exc:
            raise BadRequest(f"malformed multipart body: {exc}") from exc
        events, self.events = self.events, []
        return events


def boundary_of(content_type: str | None) -> bytes:
    """The multipart boundary, or 400 when the request is not multipart/form-data."""
    kind, params = parse_options_header(content_type or "")
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise BadRequest("expected multipart/form-data with a boundary")
    if len(boundary) > MAX_BOUNDARY_CHARS:
        raise BadRequest(f"multipart boundary longer than {MAX_BOUNDARY_CHARS} characters")
    return boundary


def _disposition(headers: dict[str, str]) -> tuple[str, str | None]:
    """(name, filename) of a part; the header value holds the raw bytes (see `_header_end`).

    Names are UTF-8, as browsers send them (RFC 7578 section 4.2 / HTML). The RFC 5987 form
    (`filename*=UTF-8''...`) is forbidden in multipart/form-data by RFC 7578 section 4.2, and
    python-multipart drops such parameters, so only the plain `filename` is used.
    """
    _, params = parse_options_header(headers.get("content-disposition", ""))
    name = params.get(b"name", b"").decode("utf-8", "replace")
    raw = params.get(b"filename")
    return name, None if raw is None else raw.decode("utf-8", "replace")


@dataclass(slots=True)
class UploadReceiver:
    """State machine over multipart events; owns the S3 writer until the object is complete."""

    client: S3Client
    bucket: str
    key: str
    max_bytes: int
    part_size: int
    metadata: dict[str, str]
    tracker: Tracker | None = None
    writer: StreamingObjectWriter | None = None
    in_file: bool = False
    file_seen: bool = False
    file_done: bool = False
    head: bytearray = field(default_factory=bytearray)
    claimed: str = ""
    filename: str = ""
    ftype: FileType | None = None
    other_bytes: int = 0
    started: float = field(default_factory=time.monotonic)

    async def handle(self, kind: str, value: Any) -> None:
        if kind == "part":
            self._begin_part(value)
        elif kind == "data":
            await self._data(value)
        elif kind == "end" and self.in_file:
            if self.writer is None:
                await self._start(complete=True)
            self.in_file, self.file_done = False, True

    def _begin_part(self, headers: dict[str, str]) -> None:
        name, filename = _disposition(headers)
        if name != FILE_FIELD or filename is None:
            return
        if self.file_seen:
            raise BadRequest("exactly one file per upload")
        self.in_file = self.file_seen = True
        self.claimed, self.filename = headers.get("content-type", ""), sanitize_filename(filename)

    async def _data(self, data: bytes) -> None:
        if not self.in_file:
            self.other_bytes += len(data)
            if self.other_bytes > MAX_FORM_FIELD_BYTES:
                raise BadRequest("form fields too large")
            return
        if self.writer is None:
            self.head += data
            if len(self.head) >= SNIFF_BYTES:
                await self._start(complete=False)
            return
        if self.writer.size + len(data) > self.max_bytes:
            raise PayloadTooLarge(f"file exceeds the limit of {self.max_bytes} bytes")
        await self.writer.write(data)

    async def _start(self, *, complete: bool) -> None:
        head = bytes(self.head)
        self.ftype = detect_type(head, claimed=self.claimed, filename=self.filename, complete=complete)
        if len(head) > self.max_bytes:
            raise PayloadTooLarge(f"file exceeds the limit of {self.max_bytes} bytes")
        metadata = {**self.metadata, "filename": urllib.parse.quote(self.filename)}
        self.writer = StreamingObjectWriter(
            self.client,
            self.bucket,
            self.key,
            part_size=self.part_size,
            content_type=self.ftype.mime,
            metadata=metadata,
            tracker=self.tracker,
        )
        self.head = bytearray()
        await self.writer.write(head)

    async def finish(self) -> Received:
        if not self.file_done or self.writer is None or self.ftype is None:
            raise BadRequest(f"missing a complete `{FILE_FIELD}` part")
        await self.writer.complete()
        sha = self.writer.digest.hexdigest()
        return Received(self.key, self.filename, self.ftype, self.writer.size, sha)

    async def abort(self) -> None:
        if self.writer is not None:
            await self.writer.abort()


async def receive(
    chunks: AsyncIterator[bytes], content_type: str | None, receiver: UploadReceiver
) -> Received:
    """Drive ``receiver`` with the request body; on any failure nothing stays in the bucket."""
    events = MultipartEvents(boundary_of(content_type))
    try:
        async for chunk in chunks:
            for kind, value in events.feed(chunk):
                await receiver.handle(kind, value)
        return await receiver.finish()
    except BaseException:
        await receiver.abort()
        raise
