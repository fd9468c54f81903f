"""Small, valid sample files of every allowed type, made in memory (deterministic)."""

from __future__ import annotations

import io
import json

from PIL import Image


def _image(fmt: str, mode: str = "RGB", size: tuple[int, int] = (64, 48), **options: object) -> bytes:
    img = Image.new(mode, size, (200, 30, 90) if mode == "RGB" else 7)
    for x in range(size[0]):
        img.putpixel((x, x % size[1]), (10, 200, 10) if mode == "RGB" else 3)
    out = io.BytesIO()
    img.save(out, format=fmt, **options)
    return out.getvalue()


def exif_bytes() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8298] = "Copyright Someone"  # Copyright
    exif[0x0112] = 1  # Orientation
    return exif.tobytes()


def png() -> bytes:
    return _image("PNG")


def png_with_text() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "secret-author")
    return _image("PNG", pnginfo=info)


def jpeg() -> bytes:
    return _image("JPEG", exif=exif_bytes(), quality=90)


def webp() -> bytes:
    return _image("WEBP", exif=exif_bytes())


def gif() -> bytes:
    return _image("GIF", mode="P", comment=b"secret-comment")


def pdf(pages: int = 2) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(200, 200)
    writer.add_metadata({"/Author": "secret-author", "/Title": "secret-title"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def text() -> bytes:
    return "héllo wörld\nsecond line\n".encode()


def csv_bytes() -> bytes:
    return b"name,size\nalpha,1\nbeta,2\n"


def json_bytes() -> bytes:
    return json.dumps({"hello": ["wörld", 1, 2.5, None]}).encode()


# (filename, declared content type, payload, expected detected type)
ALL_TYPES: dict[str, tuple[str, str, bytes, str]] = {
    "png": ("pixel.png", "image/png", png(), "image/png"),
    "jpeg": ("photo.jpg", "image/jpeg", jpeg(), "image/jpeg"),
    "webp": ("pic.webp", "image/webp", webp(), "image/webp"),
    "gif": ("anim.gif", "image/gif", gif(), "image/gif"),
    "pdf": ("doc.pdf", "application/pdf", pdf(), "application/pdf"),
    "text": ("notes.txt", "text/plain", text(), "text/plain"),
    "csv": ("table.csv", "text/csv", csv_bytes(), "text/csv"),
    "json": ("data.json", "application/json", json_bytes(), "application/json"),
}
