"""Why a job attempt failed, told apart: retry only what another attempt can fix.

Transient: a dependency is unavailable (PostgreSQL, Redis, S3 connection errors, S3 5xx, timeouts)
or the row is not committed yet. Everything else is permanent -- the input is hostile or broken,
or the code cannot handle it, and a retry would fail the same way (a JSON document nested 100k
deep fails five times in a row). Users see only reasons written here, never an exception's text
(which can carry ``<_io.BytesIO object at 0x...>`` or a path).
"""

from __future__ import annotations

from dataclasses import dataclass

from easy_upload.errors import ProcessingError
from easy_upload.services import outage_of


class RowNotVisible(Exception):
    """The job arrived before its row was committed (or the row never will be): retry later."""


@dataclass(frozen=True, slots=True)
class Failure:
    """What to do with a failed attempt and what to tell the user."""

    transient: bool
    reason: str


GENERIC_REASON = "the file could not be processed"
_KNOWN: tuple[tuple[type[BaseException], str], ...] = (
    (RecursionError, "the file is nested too deeply to process"),
    (MemoryError, "the file needs more memory to process than the limit allows"),
    (UnicodeError, "the file is not valid text"),
)


def classify(exc: BaseException) -> Failure:
    """Transient (retry with backoff) or permanent (fail now), with a user-safe reason."""
    if isinstance(exc, ProcessingError):
        return Failure(False, str(exc))
    dependency = outage_of(exc)
    if dependency is not None:
        return Failure(True, f"{dependency} was unavailable")
    if isinstance(exc, RowNotVisible | TimeoutError):
        return Failure(True, "the upload was not ready for processing")
    for kind, reason in _KNOWN:
        if isinstance(exc, kind):
            return Failure(False, reason)
    return Failure(False, GENERIC_REASON)


def gave_up(failure: Failure, attempts: int) -> str:
    """The final reason of a transient failure that ran out of attempts."""
    return f"processing failed {attempts} times because {failure.reason}; giving up"
