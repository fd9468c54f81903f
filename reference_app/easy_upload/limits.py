"""Per-user concurrency limits of one API replica: open event streams and uploads in progress.

Counted per replica, in memory: what they protect is this replica's connections and memory, and a
count that lives with the process cannot leak when a replica dies (a shared counter in Redis
would need leases). Over the limit the answer is 429 with ``Retry-After``, for that user only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from easy_upload.errors import TooManyRequests


@dataclass(slots=True)
class Slot:
    """One held unit of a limit; ``release`` is idempotent (streams release from two places)."""

    limits: UserLimits
    user: str
    held: bool = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.limits.release(self.user)


@dataclass(slots=True)
class UserLimits:
    """At most ``per_user`` concurrent ``what`` per user on this replica."""

    what: str
    per_user: int
    retry_after_s: int
    held: Counter[str] = field(default_factory=Counter)

    def acquire(self, user: str) -> Slot:
        if self.held[user] >= self.per_user:
            raise TooManyRequests(
                f"too many concurrent {self.what} for this user (at most {self.per_user}); retry later",
                retry_after_s=self.retry_after_s,
            )
        self.held[user] += 1
        return Slot(self, user)

    def release(self, user: str) -> None:
        self.held[user] -= 1
        if self.held[user] <= 0:
            del self.held[user]
