"""Images: re-encoded from pixels only, within the job's memory budget, without spare copies.

One decoded copy of the pixels is all a job holds: the header decides whether the decode fits the
budget before any pixel is read; metadata goes by emptying ``info`` (Pillow's savers write EXIF,
ICC, XMP and comments only from there or from save options, none of which we pass); EXIF rotation
happens in place; the thumbnail is made by shrinking the same image in place (nearest neighbour
first: an antialiasing filter on RGBA would first make a premultiplied full-size copy) after the
result has been encoded.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import IO, Any

from PIL import Image, ImageOps, UnidentifiedImageError

from easy_upload.budget import Budget
from easy_upload.errors import ProcessingError
from easy_upload.sniff import FileType

THUMBNAIL_SIZE = (256, 256)
# The in-place nearest-neighbour step stops here, leaving the final 4x to a proper filter.
THUMBNAIL_STAGE = (1024, 1024)
SPOOL_BYTES = 16 * 1024 * 1024
PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP", "image/gif": "GIF"}
_KEPT_INFO = ("transparency",)  # pixel semantics, not metadata
_ORIENTATION = 0x0112
DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError)

Progress = Callable[[int, str], None]
Encoded = tuple[IO[bytes], dict[str, Any]]


def spool() -> IO[bytes]:
    """A file that stays in memory up to 16 MiB, then moves to disk (a budget's fixed part)."""
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)


def _transposed(img: Image.Image, loaded: bool) -> bool:
    """Whether EXIF asks for a rotation -- known before decoding except in a PNG whose eXIf chunk
    follows the pixels (Pillow's PNG getexif() decodes the whole image to find it)."""
    if img.format == "PNG" and "exif" not in img.info and not loaded:
        return False
    return img.getexif().get(_ORIENTATION, 1) not in (1, None)


def image_cost(img: Image.Image, fmt: str, budget: Budget, *, loaded: bool = False) -> int:
    """What decoding ``img`` would cost, from its header alone (checked again before rotating)."""
    progressive = bool(img.info.get("progressive") or img.info.get("progression"))
    return budget.image_cost(img.width, img.height, img.mode, fmt, progressive=progressive,
                             transposed=_transposed(img, loaded))


def strip_metadata(img: Image.Image) -> None:
    """Forget everything but the pixels (and which palette entry is transparent)."""
    img.info = {k: v for k, v in img.info.items() if k in _KEPT_INFO}


def encode(img: Image.Image, fmt: str) -> IO[bytes]:
    out = spool()
    if fmt == "JPEG" and img.mode not in {"RGB", "L", "CMYK"}:
        img = img.convert("RGB")
    options: dict[str, Any] = {"JPEG": {"quality": 90}, "WEBP": {"quality": 90, "method": 4}}.get(fmt, {})
    img.save(out, format=fmt, **options)
    return out


def thumbnail(img: Image.Image) -> IO[bytes]:
    """Shrink ``img`` in place, then make the PNG thumbnail from the small copy."""
    img.thumbnail(THUMBNAIL_STAGE, resample=Image.Resampling.NEAREST)
    small = img.convert("RGBA" if "A" in img.getbands() or img.mode == "P" else "RGB")
    small.thumbnail(THUMBNAIL_SIZE)
    out = spool()
    small.save(out, format="PNG")
    return out


def _decode(src: IO[bytes], fmt: str, budget: Budget) -> tuple[Image.Image, int]:
    img = Image.open(src, formats=[fmt])
    what = f"this {img.width}x{img.height} image"
    try:
        budget.check(image_cost(img, fmt, budget), what)
        frames = getattr(img, "n_frames", 1)
        img.load()
        # A PNG's eXIf chunk may follow the pixels and ask for a rotation only now.
        budget.check(image_cost(img, fmt, budget, loaded=True), what)
        ImageOps.exif_transpose(img, in_place=True)
    except BaseException:
        img.close()
        raise
    return img, frames


def process_image(src: IO[bytes], ftype: FileType, budget: Budget, progress: Progress) -> Encoded:
    """(result, facts) for an image; the thumbnail goes to ``facts['thumbnail']``."""
    fmt = PIL_FORMATS[ftype.mime]
    try:
        img, frames = _decode(src, fmt, budget)
    except DECODE_ERRORS as exc:
        raise ProcessingError(f"cannot decode {ftype.mime}: damaged or not a valid image") from exc
    with img:
        progress(40, "decoded")
        strip_metadata(img)
        facts: dict[str, Any] = {"width": img.width, "height": img.height, "frames": frames}
        result = encode(img, fmt)
        progress(70, "re-encoded")
        facts["thumbnail"] = thumbnail(img)
    return result, facts
