"""The S3/Secrets Manager emulator: a real moto server on 127.0.0.1, behind a switchable proxy.

``endpoint_url`` is the proxy's. ``stop()`` makes S3 unreachable (connection refused) while the
emulator keeps its state; ``start()`` brings it back; ``cleanup()`` ends the emulator itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.services.emulator import ProxiedEmulator
from harness.services.process import ManagedProcess, answers_http, free_port
from harness.services.proxy import TcpProxy

REGION = "us-east-1"
# moto accepts any credentials; these are not secrets.
ACCESS_KEY_ID = "harness-local"
SECRET_ACCESS_KEY = "harness-local-secret"


class MotoService(ProxiedEmulator):
    """moto server (``python -m moto.server``) with an outage switch in front of it."""

    kind = "moto"

    def __init__(self, workdir: Path, *, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.backend_port = free_port()
        self.region = REGION
        self.access_key_id = ACCESS_KEY_ID
        self.secret_access_key = SECRET_ACCESS_KEY
        self.proxy = TcpProxy(("127.0.0.1", self.backend_port), port=self.port)
        self.process = ManagedProcess(
            "moto",
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.backend_port)],
            log_path=workdir / "logs" / "moto.log",
            ready=lambda: answers_http(f"{self.backend_url}/moto-api/"),
        )

    @property
    def backend_url(self) -> str:
        return f"http://127.0.0.1:{self.backend_port}"

    def client_env(self) -> dict[str, str]:
        """Environment variables that point boto3 (and the app) at this emulator."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "S3_ENDPOINT_URL": self.endpoint_url,
        }


__all__ = ["MotoService"]
