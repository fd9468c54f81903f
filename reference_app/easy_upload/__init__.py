"""Easy Upload: streamed uploads, a processing worker and live progress over SSE."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
