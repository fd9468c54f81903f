"""LocalStack community (core) in host mode, from its own venv, on 127.0.0.1 behind a switchable proxy.

LocalStack needs Python >= 3.13 (``localstack-core`` 2026.3 imports ``warnings.deprecated``) and
pins libraries the harness does not, so it lives in a venv of its own: ``./dev setup --localstack``
makes ``.venv-localstack``; ``[targets.local] localstack_python`` or ``HARNESS_LOCALSTACK_PYTHON``
names another interpreter. It is started as ``python -m localstack.runtime.main`` (the
``localstack`` CLI wants an auth token and Docker). Its gateway must be loopback only, and neither
documented choice does that alone: the default server (twisted) binds 0.0.0.0 for any IPv4
``GATEWAY_LISTEN`` (``localstack/runtime/server/twisted.py``: "TODO: interface = host?"), and
hypercorn answers ``Expect: 100-continue`` with an empty reason phrase (``HTTP/1.1 100``) that
botocore does not recognise, so every ``PutObject`` fails. So: twisted on ``GATEWAY_LISTEN=[::1]:<port>``
(its IPv6 branch binds exactly that interface), and our proxy on 127.0.0.1 forwards to it.
Everything it writes lives under its workdir (``FILESYSTEM_ROOT``); it reports no analytics and
downloads no certificate. Outage semantics are moto's: ``stop()`` refuses connections and keeps
the state, ``kill()`` loses it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from harness.errors import MissingToolError
from harness.services.emulator import ProxiedEmulator
from harness.services.process import ManagedProcess, answers_http, free_port
from harness.services.proxy import TcpProxy

REGION = "us-east-1"
ACCESS_KEY_ID = "test"  # LocalStack maps this key to its default account (000000000000)
SECRET_ACCESS_KEY = "test"  # not a secret: any value works
VENV = ".venv-localstack"
INSTALL_HINT = "./dev setup --localstack (a Python >= 3.13 venv with localstack-core[runtime])"


def localstack_python(configured: str | None = None, root: Path | None = None) -> str:
    """The interpreter that runs LocalStack: configured, ``HARNESS_LOCALSTACK_PYTHON``, or the
    repo's ``.venv-localstack``; a missing one is a :class:`MissingToolError` saying how to make it."""
    candidates = [configured, os.environ.get("HARNESS_LOCALSTACK_PYTHON"),
                  str((root or Path.cwd()) / VENV / "bin" / "python")]
    for candidate in (c for c in candidates if c):
        if Path(candidate).is_file() and _has_localstack(candidate):
            return candidate
    raise MissingToolError("LocalStack: no interpreter with localstack-core found "
                           f"(looked for {', '.join(c for c in candidates if c)})", hint=INSTALL_HINT)


def _has_localstack(python: str) -> bool:
    try:
        done = subprocess.run([python, "-c", "import localstack.runtime.main"], capture_output=True,
                              timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


class LocalStackService(ProxiedEmulator):
    """``python -m localstack.runtime.main`` with an outage switch in front of it."""

    kind = "localstack"

    def __init__(self, workdir: Path, *, python: str | None = None, root: Path | None = None,
                 port: int | None = None) -> None:
        self.workdir = workdir
        self.python = localstack_python(python, root)
        self.port = port or free_port()
        self.backend_port = free_port("::1")
        self.region = REGION
        self.access_key_id = ACCESS_KEY_ID
        self.secret_access_key = SECRET_ACCESS_KEY
        self.proxy = TcpProxy(("::1", self.backend_port), port=self.port)
        self.process = ManagedProcess(
            "localstack", [self.python, "-m", "localstack.runtime.main"],
            log_path=workdir / "logs" / "localstack.log", env=self._env(), cwd=workdir,
            ready=lambda: answers_http(f"{self.backend_url}/_localstack/health"),
        )

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCALSTACK_", "PYTHON"))}
        env.update({
            "GATEWAY_LISTEN": f"[::1]:{self.backend_port}",  # loopback only (see the module docstring)
            "GATEWAY_SERVER": "twisted",
            "LOCALSTACK_HOST": f"127.0.0.1:{self.port}",  # URLs it hands out point at our proxy
            "FILESYSTEM_ROOT": str(self.workdir / "fs"),
            "TMPDIR": str(self.workdir / "tmp"),
            "DNS_ADDRESS": "0",  # no DNS server (it would bind port 53)
            "DISABLE_EVENTS": "1",  # no analytics
            "SKIP_SSL_CERT_DOWNLOAD": "1",  # nothing fetched from outside
            "EAGER_SERVICE_LOADING": "0",
        })
        return env

    @property
    def backend_url(self) -> str:
        return f"http://[::1]:{self.backend_port}"

    def _prepare(self) -> None:
        (self.workdir / "tmp").mkdir(parents=True, exist_ok=True)


__all__ = ["LocalStackService", "localstack_python"]
