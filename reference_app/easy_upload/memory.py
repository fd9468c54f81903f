"""Keep big buffers out of glibc's heap, so memory freed after an upload part goes back to the OS."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_MMAP_THRESHOLD = -3
THRESHOLD_BYTES = 1024 * 1024


def pin_mmap_threshold(threshold: int = THRESHOLD_BYTES) -> bool:
    """Serve every allocation >= ``threshold`` with mmap (glibc only; a no-op elsewhere).

    glibc raises its mmap threshold after the first big free, after which 8 MiB part buffers come
    from per-thread heaps that rarely shrink; a fixed threshold keeps RSS equal to live data.
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        return bool(ctypes.CDLL(name).mallopt(M_MMAP_THRESHOLD, threshold))
    except (OSError, AttributeError):
        return False
