"""Files for scenarios: small valid images/PDF/text made on the fly, large text streamed in chunks.

A :class:`Payload` is produced lazily (``chunks()``), so a 20 MiB upload never sits in memory; its
size and sha256 are known up front (generated text is deterministic and hashed in a first pass).
"""

from __future__ import annotations

import base64
import hashlib
import io
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

CHUNK = 256 * 1024
MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif",
        "pdf": "application/pdf", "text": "text/plain", "csv": "text/csv", "json": "application/json",
        "bytes": "application/octet-stream", "empty": "application/octet-stream"}
EXT = {"png": "png", "jpeg": "jpg", "webp": "webp", "gif": "gif", "pdf": "pdf", "text": "txt", "csv": "csv",
       "json": "json", "bytes": "bin", "empty": "bin"}


@dataclass(slots=True)
class Payload:
    """A file to send: type, the MIME type a browser would claim, size, digest and its bytes."""

    kind: str
    mime: str
    size: int
    sha256: str
    produce: Callable[[], Iterator[bytes]]

    @property
    def ext(self) -> str:
        return EXT[self.kind]

    def chunks(self) -> Iterator[bytes]:
        return self.produce()

    def read(self) -> bytes:
        return b"".join(self.chunks())


def from_bytes(kind: str, data: bytes) -> Payload:
    def produce() -> Iterator[bytes]:
        for start in range(0, len(data), CHUNK):
            yield data[start:start + CHUNK]

    return Payload(kind, MIME[kind], len(data), hashlib.sha256(data).hexdigest(), produce)


def make_payload(spec: dict[str, Any]) -> Payload:
    """The file a scenario's ``file:`` mapping describes (see the scenario schema)."""
    kind = str(spec["type"])
    prefix = base64.b64decode(spec.get("prefix_base64", ""))
    if "base64" in spec:
        return from_bytes(kind, prefix + base64.b64decode(spec["base64"]))
    if "text" in spec:
        return from_bytes(kind, prefix + str(spec["text"]).encode())
    size = int(spec.get("size", 0))
    if kind in ("text", "csv", "json") and size > CHUNK:
        return _streamed_text(kind, size, prefix)
    body = prefix + _small(kind, spec)
    if size > len(body):  # images and PDFs tolerate trailing bytes; text gets more lines
        body += _filler(kind, size - len(body))
    return from_bytes(kind, body)


def _small(kind: str, spec: dict[str, Any]) -> bytes:
    width, height = int(spec.get("width", 32)), int(spec.get("height", 24))
    if kind in ("png", "jpeg", "webp", "gif"):
        return image(kind, width, height)
    makers: dict[str, Callable[[], bytes]] = {
        "pdf": pdf, "text": lambda: b"hello from the harness\nsecond line\n",
        "csv": lambda: b"id,name,score\n1,ada,10\n2,grace,12\n",
        "json": lambda: b'{"hello": ["harness", 1]}\n',
        "bytes": lambda: b"\x00\x01\x02\x03 not a known format \xfe\xff", "empty": lambda: b"",
    }
    return makers[kind]()


def _filler(kind: str, n: int) -> bytes:
    if kind in ("text", "csv"):
        return b"".join(_text_lines(kind, n, 0))
    if kind == "json":
        return b" " * n
    if kind == "empty":
        return b""
    return bytes(n)


def _text_lines(kind: str, total: int, start: int) -> Iterator[bytes]:
    """Deterministic lines filling exactly ``total`` bytes."""
    sent, row = 0, start
    while sent < total:
        text = f"{row},row {row},{row * 7 % 1000}\n" if kind == "csv" else f"line {row} of the harness\n"
        line = text.encode()
        line = line[: total - sent]
        if len(line) < total - sent or line.endswith(b"\n"):
            yield line
        else:
            yield line[:-1] + b"\n"
        sent += len(line)
        row += 1


def _streamed_text(kind: str, size: int, prefix: bytes) -> Payload:
    head = prefix + (b'{"rows": [' if kind == "json" else (b"id,name,score\n" if kind == "csv" else b""))
    tail = b'"end"]}\n' if kind == "json" else b""
    body = size - len(head) - len(tail)

    def produce() -> Iterator[bytes]:
        yield head
        buffer = bytearray()
        lines = (_json_rows(body) if kind == "json" else _text_lines(kind, body, 1))
        for line in lines:
            buffer += line
            if len(buffer) >= CHUNK:
                yield bytes(buffer)
                buffer.clear()
        yield bytes(buffer) + tail

    digest = hashlib.sha256()
    for chunk in produce():
        digest.update(chunk)
    return Payload(kind, MIME[kind], size, digest.hexdigest(), produce)


def _json_rows(total: int) -> Iterator[bytes]:
    sent, row = 0, 0
    while total - sent > 40:
        item = f'"row {row:08d} of the harness",\n'.encode()
        yield item
        sent += len(item)
        row += 1
    yield b" " * (total - sent)


def image(kind: str, width: int, height: int) -> bytes:
    """A small gradient image in ``kind`` (Pillow, which matplotlib brings along)."""
    from PIL import Image

    img = Image.new("RGB", (width, height))
    img.putdata([((x * 255) // max(width - 1, 1), (y * 255) // max(height - 1, 1), 128)
                 for y in range(height) for x in range(width)])
    out = io.BytesIO()
    img.save(out, format={"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF"}[kind])
    return out.getvalue()


def png_raw(width: int = 2, height: int = 2) -> bytes:
    """A valid PNG without Pillow (used by tests)."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + tag + data
                + zlib.crc32(tag + data).to_bytes(4, "big"))

    raw = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def pdf(text: str = "Hello from the harness") -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    stream = f"BT /F1 18 Tf 36 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


__all__ = ["EXT", "MIME", "Payload", "from_bytes", "image", "make_payload", "pdf", "png_raw"]
