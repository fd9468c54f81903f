"""Provenance of a run: run id, git sha, host, harness and tool versions, timestamps."""

from __future__ import annotations

import getpass
import os
import platform
import secrets
import socket
import subprocess
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from harness.results import Provenance

# Distributions whose versions give a result its meaning (a checkov upgrade changes findings), by
# what uses them: a run lists only those of the stages that ran and the target it stood up.
TOOLS_BY_USER: dict[str, tuple[str, ...]] = {
    "harness": ("jsonschema",),
    "policy": ("checkov",),
    "functional": ("playwright", "httpx"),
    "dast": ("schemathesis", "zaproxy"),
    "load": ("locust",),
    "target:local": ("moto", "boto3", "psycopg", "redis"),
}
TOOLS = tuple(dict.fromkeys(t for tools in TOOLS_BY_USER.values() for t in tools))
DISTRIBUTION = "cloud-verify-harness"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: ``20260126T043212Z-3fa9c1`` (plus ``-gw0`` under pytest-xdist)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    run_id = f"{stamp}-{secrets.token_hex(3)}"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"{run_id}-{worker}" if worker else run_id


def harness_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"


def tool_versions(used: Iterable[str] | None = None) -> dict[str, str]:
    """Python's version and those of the tools ``used`` needs (stage names, ``target:<name>``);
    every known tool when ``used`` is None."""
    names = TOOLS if used is None else tuple(dict.fromkeys(
        t for user in ("harness", *used) for t in TOOLS_BY_USER.get(user, ())))
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_sha(root: Path) -> str | None:
    """The checked-out commit of ``root`` (``GITHUB_SHA`` wins in CI), or None outside git."""
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def current_user() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


def collect(*, root: Path, target: str, profile: str) -> Provenance:
    """Provenance of a run starting now (``finished_at`` is filled in when it ends)."""
    return Provenance(
        git_sha=git_sha(root),
        target=target,
        profile=profile,
        harness_version=harness_version(),
        tool_versions=tool_versions(()),  # completed when the run ends: only what it used
        started_at=utc_now(),
        finished_at=None,
        host=socket.gethostname(),
        user=current_user(),
        root=str(root),
    )


__all__ = ["TOOLS", "TOOLS_BY_USER", "collect", "git_sha", "harness_version", "new_run_id",
           "tool_versions", "utc_now"]
