"""The memory budget of one job, and the decode limits derived from it.

A worker runs ``WORKER_CONCURRENCY`` jobs at once inside one container, so each job may use at most
``JOB_MEMORY_BUDGET_MIB`` (the manifests keep concurrency x budget + the process' own baseline under
the container's memory limit; policy EU-K8S-080 checks it). A file is refused *before* it is decoded
when its decoded form would not fit: pixel count alone is no limit (a 34-byte WebP decodes to
64 M pixels, and Pillow's WebP decoder holds four copies of them while it works).

The factors are peak RSS growth over decoded size, measured on generated bombs with this code
(tests/reference_app/measure_hostile.py; Pillow 13, pypdf 7, CPython 3.11), rounded up.
"""

from __future__ import annotations

from dataclasses import dataclass

from easy_upload.errors import ProcessingError

MIB = 1024 * 1024
# Held besides the decoded data: the input spool (<= 16 MiB in memory), the result's spool
# (<= 16 MiB) and the thumbnail's intermediate (<= 1024 x 1024 x 4 bytes).
FIXED_BYTES = 40 * MIB
# Peak over decoded size while decoding: Pillow's WebP decoder keeps libwebp's canvas, its own
# copy and the output (~4.5x); libjpeg holds every DCT coefficient of a progressive JPEG (2 bytes
# per sample: up to 2x the image) until the last scan.
DECODE_FACTORS = {"WEBP": 4.6, "PNG": 1.1, "GIF": 1.1, "JPEG": 1.1}
PROGRESSIVE_JPEG_FACTOR = 3.1
# Pillow keeps 1, L and P at one byte per pixel, the 16-bit integer modes at two, all else at four.
_ONE_BYTE = {"1", "L", "P"}
_TWO_BYTES = {"I;16", "I;16L", "I;16B", "I;16N"}
# json.loads with every value hook returning None still builds the arrays: `[[],[],...]` costs 24
# bytes per input byte, plus the text itself (up to 4 bytes per character).
JSON_FACTOR = 28
# pypdf builds a Python object graph per PDF object twice (reader, then the writer's clone): 3.6 to
# 5.2 KiB per object measured on page- and annotation-dense files (40x their size); content
# streams are held raw, about three times over.
PDF_OBJECT_BYTES = 6 * 1024
PDF_SIZE_FACTOR = 3
CSV_LINE_FACTOR = 16  # a row of one-character fields: an 8-byte reference per 2 input bytes, x2 growth


def bytes_per_pixel(mode: str) -> int:
    return 1 if mode in _ONE_BYTE else 2 if mode in _TWO_BYTES else 4


@dataclass(frozen=True, slots=True)
class Budget:
    """Bytes one job may use; every decode limit follows from it."""

    total: int

    @property
    def variable(self) -> int:
        return max(0, self.total - FIXED_BYTES)

    def image_cost(self, width: int, height: int, mode: str, fmt: str, *, progressive: bool,
                   transposed: bool) -> int:
        """Peak bytes to decode, orient and re-encode an image (one frame)."""
        decoded = width * height * bytes_per_pixel(mode)
        factor = PROGRESSIVE_JPEG_FACTOR if progressive else DECODE_FACTORS[fmt]
        # Rotating by EXIF orientation makes a second full copy after decoding.
        peak = max(factor, 2.0) if transposed else factor
        return int(decoded * peak)

    def check(self, needed: int, what: str) -> None:
        """Refuse the job with a user-safe reason when ``needed`` does not fit."""
        if needed > self.variable:
            raise ProcessingError(
                f"{what} needs about {needed // MIB + 1} MiB to process; the limit per file is "
                f"{self.variable // MIB} MiB"
            )

    @property
    def max_json_bytes(self) -> int:
        return self.variable // JSON_FACTOR

    def pdf_cost(self, size: int, objects: int) -> int:
        """Peak bytes to copy a PDF of ``size`` bytes and ``objects`` cross-referenced objects."""
        return objects * PDF_OBJECT_BYTES + size * PDF_SIZE_FACTOR

    @property
    def max_xref_entries(self) -> int:
        """pypdf's xref-stream entry limit: the table alone costs ~100 bytes per entry."""
        return self.variable // 128

    @property
    def max_csv_line(self) -> int:
        return self.variable // CSV_LINE_FACTOR

    @property
    def max_stream_bytes(self) -> int:
        """The most a PDF stream may inflate to (pypdf's zlib output limit)."""
        return self.variable // 4
