"""Steps that act on the environment through its control handle, and the recovery probe."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from harness.stages.functional.context import Context, StepFailed, StepSkipped, poll
from harness.targets.base import Control

Scope = dict[str, Any] | None
COMPONENTS = ("api", "worker")


def control_of(ctx: Context) -> Control:
    if ctx.env.control is None:
        raise StepSkipped(f"needs the control handle (target {ctx.env.target!r} has none)")
    return ctx.env.control


def action(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope) -> dict[str, Any]:
    """kill / stop / start / restart / scale / deploy / sleep; remembers how to heal afterwards."""
    if "sleep" in spec and len(spec) == 1:
        time.sleep(float(spec["sleep"]))
        return {"slept": spec["sleep"]}
    control = control_of(ctx)
    began = time.monotonic()
    if "kill" in spec:
        _kill(ctx, control, spec["kill"], spec.get("replica", 0))
    elif "stop" in spec:
        _remember_replicas(ctx, control, spec["stop"])
        ctx.healing.setdefault("stopped", set()).add(spec["stop"])
        control.stop(spec["stop"])
    elif "start" in spec:
        control.start(spec["start"])
        ctx.healing.setdefault("stopped", set()).discard(spec["start"])
    elif "restart" in spec:
        control.restart(spec["restart"])
    elif "scale" in spec:
        _remember_replicas(ctx, control, spec["scale"])
        control.scale(spec["scale"], int(spec.get("replicas", 1)))
    elif "deploy" in spec:
        settings = {str(k): str(v) for k, v in (spec.get("settings") or {}).items()}
        ctx.healing.setdefault("deployed", control.rollout().stable_version or "stable")
        control.deploy(spec["deploy"], canary=False, settings=settings)
        ctx.deployed.update(settings)  # the bounds of later steps read what the replicas run with
    if "sleep" in spec:
        time.sleep(float(spec["sleep"]))
    took = time.monotonic() - began
    ctx.measure(f"action_{_verb(spec)}_s", took)
    return {"took_s": round(took, 3)}


def _verb(spec: dict[str, Any]) -> str:
    verb = next(k for k in spec if k not in ("replica", "replicas", "settings", "sleep"))
    return f"{verb}_{spec[verb]}"


def _remember_replicas(ctx: Context, control: Control, name: str) -> None:
    if name in COMPONENTS:
        ctx.healing.setdefault("replicas", {}).setdefault(name, len(control.replicas(name)))


def _kill(ctx: Context, control: Control, name: str, replica: Any) -> None:
    if name not in COMPONENTS:  # a service: crash it; healing starts it again
        ctx.healing.setdefault("stopped", set()).add(name)
        control.kill(name, 0)
        return
    _remember_replicas(ctx, control, name)
    count = len(control.replicas(name))
    targets = range(count) if replica == "all" else [int(replica)]
    for index in targets:
        control.kill(name, index)
    ctx.measure(f"killed_{name}", len(targets))


def heal(ctx: Context) -> list[str]:
    """Put back what the scenario's actions took away (also when it failed half-way)."""
    control, notes = ctx.env.control, list[str]()
    if control is None:
        return notes
    if ctx.healing.get("deployed"):
        with contextlib.suppress(Exception):
            control.deploy(str(ctx.healing["deployed"]), canary=False, settings={})
            notes.append(f"rolled back to {ctx.healing['deployed']}")
    for service in sorted(ctx.healing.get("stopped", set())):
        try:
            control.start(service)
            notes.append(f"started {service}")
        except Exception as exc:
            notes.append(f"could not start {service}: {exc}")
    for component, count in ctx.healing.get("replicas", {}).items():
        try:
            if len(control.replicas(component)) != count:
                control.scale(component, count)
                notes.append(f"scaled {component} back to {count}")
        except Exception as exc:
            notes.append(f"could not scale {component}: {exc}")
    return notes


def ready(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope) -> float:
    """Poll /readyz until it answers 200; the time it took is the recovery time."""
    timeout = float(spec.get("timeout_s", 60))

    def answer() -> int | str:
        try:
            return ctx.api.client.get("/readyz", timeout=5).status_code
        except Exception as exc:
            return type(exc).__name__

    last, took = poll(answer, lambda status: status == 200, timeout, 0.2)
    if last != 200:
        raise StepFailed(f"/readyz not 200 after {timeout:.0f}s (last: {last})")
    ctx.measure("recovered_s", took)
    return took


__all__ = ["action", "control_of", "heal", "ready"]
