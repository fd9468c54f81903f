"""The ``local`` target (see :mod:`harness.targets.local.target`)."""

from __future__ import annotations

from harness.errors import ConfigError
from harness.targets.local.control import LocalControl
from harness.targets.local.target import DEFAULT_TIME_SCALE, DEFAULT_USERS, LocalTarget
from harness.targets.settings import TargetSettings
from harness.targets.spec import TargetSpec


def from_spec(spec: TargetSpec, settings: TargetSettings) -> LocalTarget:
    """``local``, ``local?app=0`` (services and provisioning only), ``local?users=a,b``,
    ``local?router=tcp`` (the TCP front door instead of the per-request HTTP router),
    ``local?time_scale=N`` (manifest seconds per wall second of the model; default
    ``[targets.local] time_scale``, else 20)."""
    users = tuple(u for u in spec.options.get("users", ",".join(DEFAULT_USERS)).split(",") if u)
    router = spec.options.get("router", "http")
    if router not in ("http", "tcp"):
        raise ConfigError(f"--target {spec}: router must be http or tcp, not {router!r}")
    return LocalTarget(settings, with_app=spec.flag("app", default=True), users=users,
                       version=spec.options.get("version", "stable"), router=router,
                       time_scale=_time_scale(spec, settings.time_scale or DEFAULT_TIME_SCALE))


def _time_scale(spec: TargetSpec, default: float) -> float:
    text = spec.options.get("time_scale", str(default))
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 1000:
        raise ConfigError(f"--target {spec}: time_scale must be a number in (0, 1000], not {text!r}")
    return value


__all__ = ["LocalControl", "LocalTarget", "from_spec"]
