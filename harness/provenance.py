"""Provenance of a run: run id, git sha, host, harness and tool versions, timestamps."""

from __future__ import annotations

import getpass
import os
import platform
import secrets
import socket
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from harness.results import Provenance

# Distributions whose versions give a result its meaning (a checkov upgrade changes findings).
TOOLS = ("checkov", "schemathesis", "zaproxy", "locust", "playwright", "boto3", "moto", "pytest",
         "jsonschema")
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


def tool_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TOOLS:
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
        tool_versions=tool_versions(),
        started_at=utc_now(),
        finished_at=None,
        host=socket.gethostname(),
        user=current_user(),
        root=str(root),
    )


__all__ = ["collect", "git_sha", "harness_version", "new_run_id", "tool_versions", "utc_now"]
