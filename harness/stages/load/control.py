"""The control-plane side of a load scenario: autoscaling and canary rollouts next to the load.

On the local target the stage needs a :class:`~harness.controlplane.plane.LocalControlPlane`. It
uses the target's when the Environment publishes one (``env.extra["controlplane"]``); otherwise it
builds one over the local ``Control`` handle from the rendered ``manifests/overlays/local`` and, when
the handle routes through the TCP ``FrontDoor`` (per-connection weights), swaps in the per-request
:class:`~harness.controlplane.router.Router` for the scenario and restores the front door after.
Other targets (kind/aws) are read through :mod:`harness.controlplane.k8s`; those scenarios are
skipped here with that reason until the cluster targets exist.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.config import HarnessConfig
from harness.controlplane.plane import ControlPlaneSpec, LocalControlPlane, local_cluster
from harness.controlplane.promql import PrometheusEvaluator
from harness.controlplane.router import Router
from harness.results import Result, Severity, Status
from harness.stages.load.checks import (
    canary_exposure_result,
    hpa_results,
    promotion_result,
    rollback_result,
)
from harness.stages.load.runner import LocustRun
from harness.stages.load.scenario import LoadScenario
from harness.targets.base import Environment


class ControlSession:
    """One scenario's use of the control plane: begin, sample every second, verdicts, close."""

    def __init__(
        self,
        env: Environment,
        scenario: LoadScenario,
        plane: LocalControlPlane,
        *,
        owns_plane: bool,
        router: Router | None,
        previous_frontdoor: Any,
        out_dir: Path,
        owns_router: bool = True,
    ) -> None:
        self.env, self.scenario, self.plane = env, scenario, plane
        self.owns_router = owns_router
        self.owns_plane, self.router, self.previous_frontdoor = owns_plane, router, previous_frontdoor
        self.out_dir = out_dir
        self.api_url = router.url if router is not None and owns_router else None
        self.speedup = plane.speedup
        self.wall_start = time.time()
        self.canary_version: str | None = None

    @property
    def control(self) -> Any:
        return self.env.control

    def begin(self) -> None:
        self.wall_start = time.time()
        if self.owns_plane:
            self.plane.start()
        if self.scenario.kind.startswith("canary"):
            version = str(self.scenario.canary.get("version", "v2"))
            settings = {k: str(v) for k, v in (self.scenario.canary.get("settings") or {}).items()}
            self.control.deploy(version, canary=True, settings=settings)
            if self.router is not None:
                self.router.reset_stats()
            self.plane.begin_rollout(version)
            self.canary_version = version

    def sample(self) -> dict[str, Any]:
        replicas = {c: self.control.replicas(c) for c in ("api", "worker")}
        return {
            "replicas": replicas,
            "canary_weight": self.plane.status()["canary_weight"],
            "router": self.router.stats() if self.router is not None else None,
        }

    def analysis(self) -> list[dict[str, Any]]:
        return list(self.plane.analysis)

    def finish(self, run: LocustRun, evidence: list[str]) -> list[Result]:
        self._write_evidence()
        evidence = [*evidence, f"evidence/load/{self.scenario.id}/controlplane.json"]
        rid = f"LOAD-{self.scenario.id}"
        errors = (
            [
                Result(
                    id=f"{rid}-controlplane",
                    stage="load",
                    title="control plane loop",
                    status=Status.ERROR,
                    message="; ".join(self.plane.errors[:5]),
                    severity=Severity.HIGH,
                )
            ]
            if self.plane.errors
            else []
        )
        if self.scenario.kind == "autoscaling":
            component = self.scenario.component
            policy = self.plane.spec.hpas.get(component)
            return errors + hpa_results(
                policy,
                component,
                self.plane.timeline,
                self._load_end(run),
                evidence,
                host_cpu_pct=run.host_cpu_mean,
            )
        status = self.plane.status()
        rollout = self.plane.rollout
        weights = [e.weight for e in rollout.events if e.kind == "weight"] if rollout else []
        results = self._canary(rid, status, weights, run, evidence)
        for result in results:
            result.measured["evaluator"] = str(status.get("evaluator"))
            result.measured["speedup"] = self.speedup
        return errors + results

    def _canary(
        self, rid: str, status: dict[str, Any], weights: list[int], run: LocustRun, evidence: list[str]
    ) -> list[Result]:
        if self.scenario.kind == "canary-promotion":
            strategy = self.plane.spec.strategy
            steps = [s.weight or 0 for s in strategy.steps if s.kind == "setWeight"] if strategy else []
            return [promotion_result(f"{rid}-promoted", status, weights, steps, evidence)]
        canary, total = self._exposure(run)
        return [
            rollback_result(f"{rid}-aborted", status, weights, evidence),
            canary_exposure_result(f"{rid}-exposure", canary, total, max(weights, default=0), evidence),
        ]

    def _exposure(self, run: LocustRun) -> tuple[int, int]:
        """Requests the canary served: the router's per-track counts, else the X-App-Version headers."""
        if self.router is not None:
            stats = self.router.stats()
            return stats["canary"]["requests"], stats["canary"]["requests"] + stats["stable"]["requests"]
        versions = run.summary.get("versions", {})
        return int(versions.get(self.canary_version or "", 0)), sum(int(v) for v in versions.values())

    def _load_end(self, run: LocustRun) -> float:
        """Manifest time at which the load dropped (the last second at peak users)."""
        if not run.history:
            return self.plane.now()
        peak = max(r["users"] for r in run.history)
        end_wall = float(max(r["ts"] for r in run.history if r["users"] == peak))
        return (end_wall - self.wall_start) * self.speedup

    def _write_evidence(self) -> None:
        rollout = self.plane.rollout
        body = {
            "speedup": self.speedup,
            "status": self.plane.status(),
            "timeline": self.plane.timeline,
            "analysis": self.plane.analysis,
            "errors": self.plane.errors,
            "rollout_events": [asdict(e) for e in (rollout.events if rollout else [])],
            "router": self.router.stats() if self.router is not None else None,
        }
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / "controlplane.json").write_text(json.dumps(body, indent=1, default=str))

    def close(self) -> None:
        """Leave the environment as found: plane stopped, canary gone, front door back, min replicas."""
        if self.owns_plane:
            self.plane.stop()
        control = self.control
        if self.plane.rollout is not None and not self.plane.rollout.done:
            control.abort()
        if self.router is not None and self.owns_router:
            control.frontdoor = self.previous_frontdoor
            control.set_weight(0)
            self.router.disable()
        if self.owns_plane and self.scenario.kind == "autoscaling":
            policy = self.plane.spec.hpas.get(self.scenario.component)
            if policy is not None:
                control.scale(self.scenario.component, policy.min_replicas)


def open_session(
    env: Environment, config: HarnessConfig, scenario: LoadScenario, out_dir: Path
) -> ControlSession | str:
    """A session for ``scenario``, or the reason it cannot have one (the scenario is then skipped)."""
    published = env.extra.get("controlplane")
    door = getattr(env.control, "frontdoor", None)
    target_router = door if isinstance(door, Router) else None
    if isinstance(published, LocalControlPlane):
        return ControlSession(
            env,
            scenario,
            published,
            owns_plane=False,
            router=target_router,
            previous_frontdoor=door,
            out_dir=out_dir,
            owns_router=False,
        )
    try:
        cluster = local_cluster(env.control)
    except TypeError as exc:
        return (
            f"{exc}; on {env.target!r} autoscaling and rollouts are read through harness.controlplane.k8s, "
            "which this stage does not drive yet"
        )
    from harness.k8s import render_overlay

    spec = ControlPlaneSpec.from_documents(
        list(render_overlay(config.paths.manifests / "overlays" / "local"))
    )
    prometheus = (config.load or {}).get("prometheus_url") or None
    plane = LocalControlPlane(
        cluster,
        spec,
        speedup=scenario.speedup,
        evaluator=PrometheusEvaluator(prometheus) if prometheus else None,
    )
    if target_router is not None:  # the target already routes per request: read its counts
        return ControlSession(
            env,
            scenario,
            plane,
            owns_plane=True,
            router=target_router,
            previous_frontdoor=door,
            out_dir=out_dir,
            owns_router=False,
        )
    router, previous = _swap_router(env.control)
    return ControlSession(
        env, scenario, plane, owns_plane=True, router=router, previous_frontdoor=previous, out_dir=out_dir
    )


def _swap_router(control: Any) -> tuple[Router | None, Any]:
    """A per-connection TCP front door -> our per-request Router for the scenario (restored on close)."""
    previous = getattr(control, "frontdoor", None)
    if previous is None:
        return None, previous
    router = Router()
    router.enable()
    control.frontdoor = router
    control.set_weight(getattr(control, "canary_weight", 0))  # re-routes through the router
    return router, previous


__all__ = ["ControlSession", "open_session"]
