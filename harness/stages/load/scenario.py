"""Load scenarios: ``scenarios/load/*.yaml`` read into :class:`LoadScenario`, per profile.

::

    id: autoscaling                 # result ids derive from it
    title: Step load; the API scales as its HPA says
    kind: autoscaling               # slo | autoscaling | canary-rollback | canary-promotion
    profiles: [pr, nightly]         # where it runs
    shape: {type: step, start_users: 2, step_users: 4, steps: 3, step_s: 15, tail: {users: 0, duration_s: 40}}
    overrides: {nightly: {shape: {step_s: 120}}}   # deep-merged for that profile
    mix: {upload: 3, list: 2, download: 1}   # flows by weight: the upload flow's (routes from
                                    # scenarios/app.yaml) and the names of `requests`
    requests: {create-note: {method: POST, path: /notes, json: {text: hi}, status: 201}}
    sizes: {median_kb: 32, sigma: 1.0, max_kb: 512}
    speedup: 20                     # the platform time scale the shape is written for (manifest
                                    # seconds per wall second); stretched by speedup / time_scale
    canary: {version: v2-bad, settings: {FAULT_ERROR_RATE: "0.3"}}
    slos: [{id: SLO-upload-p95, flow: upload, p95_ms: 1500}]
    data_check: true                # accepted uploads == processed == rows at the end
    processes: 1                    # Locust worker processes (distributed mode when > 1)
    alerts: {none: true}            # Prometheus: alerts that fire / none that may (see alert_checks)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.schemas import read_document
from harness.stages.load.alert_checks import validate_alerts
from harness.stages.load.shapes import DEFAULT_MIX, ShapeStage, build_stages

KINDS = ("slo", "autoscaling", "canary-rollback", "canary-promotion")
# the upload flow's parts (locustfile) and the app routes each needs (scenarios/app.yaml)
FLOW_ROUTES = {"upload": ("uploads", "events"), "list": ("uploads",), "download": ("download",)}


@dataclass(frozen=True, slots=True)
class LoadScenario:
    id: str
    title: str
    kind: str
    stages: tuple[ShapeStage, ...]
    source: str
    mix: Mapping[str, int] = field(default_factory=dict)
    requests: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    sizes: Mapping[str, Any] = field(default_factory=dict)
    slos: tuple[Mapping[str, Any], ...] = ()
    speedup: float | None = None  # None: the shape is meant as written, on any platform
    canary: Mapping[str, Any] = field(default_factory=dict)
    data_check: bool = False
    processes: int = 1
    wait_s: tuple[float, float] = (0.5, 1.5)
    component: str = "api"
    alerts: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, profile: str, source: str) -> LoadScenario:
        merged = deep_merge(dict(data), (data.get("overrides") or {}).get(profile) or {})
        if merged.get("kind") not in KINDS:
            raise ConfigError.at(
                source, "kind", f"expected one of {', '.join(KINDS)}, got {merged.get('kind')!r}"
            )
        try:
            stages = build_stages(merged["shape"])
        except (KeyError, ValueError, TypeError) as exc:
            raise ConfigError.at(source, "shape", str(exc)) from exc
        return cls(
            id=str(merged["id"]),
            title=str(merged.get("title", merged["id"])),
            kind=merged["kind"],
            stages=tuple(stages),
            source=source,
            mix=merged.get("mix") or DEFAULT_MIX,
            requests=_requests(merged, source),
            sizes=merged.get("sizes") or {},
            slos=tuple(merged.get("slos") or ()),
            speedup=float(merged["speedup"]) if merged.get("speedup") is not None else None,
            canary=merged.get("canary") or {},
            data_check=bool(merged.get("data_check", False)),
            processes=int(merged.get("processes", 1)),
            wait_s=_pair(merged.get("wait_s", (0.5, 1.5))),
            component=str(merged.get("component", "api")),
            alerts=validate_alerts(merged.get("alerts"), source),
        )

    def stretch_for(self, time_scale: float) -> float:
        """How much longer (>1) or shorter the shape runs on a platform with ``time_scale``, so
        that it spans the same manifest time as it was written for."""
        return 1.0 if self.speedup is None else self.speedup / time_scale


def _requests(data: Mapping[str, Any], source: str) -> dict[str, Mapping[str, Any]]:
    """The scenario's own requests, checked; and every flow of the mix is one the locustfile knows."""
    requests = data.get("requests") or {}
    if not isinstance(requests, dict):
        raise ConfigError.at(source, "requests", "expected a mapping of name -> {method, path, json, status}")
    for name, spec in requests.items():
        if not isinstance(spec, dict) or not str(spec.get("path", "")).startswith("/"):
            raise ConfigError.at(source, f"requests.{name}.path", "expected a path starting with /")
        if str(spec.get("method", "")).upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"):
            problem = f"not an HTTP method: {spec.get('method')!r}"
            raise ConfigError.at(source, f"requests.{name}.method", problem)
    unknown = sorted(set(data.get("mix") or {}) - set(FLOW_ROUTES) - set(requests))
    if unknown:
        known = ", ".join([*FLOW_ROUTES, *requests])
        raise ConfigError.at(source, f"mix.{unknown[0]}", f"not a flow (expected one of {known})")
    return requests


def _pair(value: Any) -> tuple[float, float]:
    low, high = value
    return float(low), float(high)


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = (
            deep_merge(out[key], value)
            if isinstance(value, Mapping) and isinstance(out.get(key), dict)
            else value
        )
    return out


def load_scenarios(directory: Path, profile: str, only: set[str] | None = None) -> list[LoadScenario]:
    """Scenarios of ``directory`` that run in ``profile`` (and are in ``only`` when given), by file name."""
    scenarios = []
    for path in sorted(directory.glob("*.yaml")):
        data = read_document(path)
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping")
        if profile not in data.get("profiles", ["pr", "nightly"]):
            continue
        if only and data.get("id") not in only:
            continue
        scenarios.append(LoadScenario.from_dict(data, profile=profile, source=str(path)))
    return scenarios


__all__ = ["FLOW_ROUTES", "KINDS", "LoadScenario", "deep_merge", "load_scenarios"]
