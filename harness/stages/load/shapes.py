"""Load shapes as plain data: ramp, step, spike, soak -> a list of (until, users, spawn rate) stages.

Pure and gevent-free: the harness uses it to plan and bound a run, the locustfile (in its own
process) uses it to drive Locust's ``LoadTestShape``. Also the upload-size distribution and the
default task mix and the empty run summary (one home for the harness and the locustfile).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_MIX = {"upload": 3, "list": 2, "download": 1}


def empty_summary() -> dict[str, Any]:
    """What a Locust process counts of the app's answers (accepted uploads, versions, tracks...)."""
    return {"accepted": [], "rejected": 0, "completed": 0, "failed": 0, "versions": {}, "tracks": {}}


@dataclass(frozen=True, slots=True)
class ShapeStage:
    until_s: float  # end of this stage, seconds since start
    users: int
    spawn_rate: float

    def to_dict(self) -> dict[str, float | int]:
        return {"until_s": self.until_s, "users": self.users, "spawn_rate": self.spawn_rate}


def build_stages(shape: Mapping[str, Any]) -> list[ShapeStage]:
    """Stages for ``shape`` (``type`` ramp | step | spike | soak), plus an optional ``tail``."""
    kind = shape.get("type")
    if kind not in _BUILDERS:
        raise ValueError(f"unknown load shape {kind!r} (expected one of {', '.join(_BUILDERS)})")
    stages = _BUILDERS[kind](shape)
    tail = shape.get("tail")
    if tail:
        end = stages[-1].until_s if stages else 0.0
        stages.append(
            ShapeStage(
                end + float(tail["duration_s"]), int(tail.get("users", 0)), float(tail.get("spawn_rate", 100))
            )
        )
    return stages


def _ramp(s: Mapping[str, Any]) -> list[ShapeStage]:
    users, ramp = int(s["users"]), float(s.get("ramp_s", 10))
    return [ShapeStage(ramp + float(s.get("hold_s", 30)), users, users / max(ramp, 0.001))]


def _step(s: Mapping[str, Any]) -> list[ShapeStage]:
    start, step, count, length = (
        int(s.get("start_users", 0)),
        int(s["step_users"]),
        int(s["steps"]),
        float(s["step_s"]),
    )
    rate = float(s.get("spawn_rate", max(step, 1)))
    return [ShapeStage(length * (i + 1), start + step * (i + 1), rate) for i in range(count)]


def _spike(s: Mapping[str, Any]) -> list[ShapeStage]:
    base, spike = int(s["base_users"]), int(s["spike_users"])
    t1 = float(s.get("base_s", 10))
    t2 = t1 + float(s.get("spike_s", 10))
    t3 = t2 + float(s.get("after_s", 10))
    fast = float(s.get("spawn_rate", max(spike, 1)))
    return [ShapeStage(t1, base, fast), ShapeStage(t2, spike, fast), ShapeStage(t3, base, fast)]


def _soak(s: Mapping[str, Any]) -> list[ShapeStage]:
    users = int(s["users"])
    return [ShapeStage(float(s["duration_s"]), users, float(s.get("spawn_rate", users)))]


_BUILDERS = {"ramp": _ramp, "step": _step, "spike": _spike, "soak": _soak}


def stretch(stages: list[ShapeStage], factor: float) -> list[ShapeStage]:
    """``stages`` lasting ``factor`` times as long (users and spawn rates unchanged)."""
    return [ShapeStage(s.until_s * factor, s.users, s.spawn_rate) for s in stages]


def duration(stages: list[ShapeStage]) -> float:
    return stages[-1].until_s if stages else 0.0


def stage_at(stages: list[ShapeStage], elapsed_s: float) -> ShapeStage | None:
    """The stage running at ``elapsed_s``; None once the shape is over (Locust then stops)."""
    for stage in stages:
        if elapsed_s < stage.until_s:
            return stage
    return None


def upload_size(rng: random.Random, sizes: Mapping[str, Any]) -> int:
    """Bytes for one upload: log-normal around ``median_kb`` (``sigma``), clamped to [min_kb, max_kb]."""
    median = float(sizes.get("median_kb", 32)) * 1024
    value = rng.lognormvariate(math.log(median), float(sizes.get("sigma", 1.0)))
    low, high = float(sizes.get("min_kb", 1)) * 1024, float(sizes.get("max_kb", 1024)) * 1024
    return int(min(max(value, low), high))


def csv_payload(size: int, seed: int) -> bytes:
    """A valid CSV of about ``size`` bytes (the app sniffs and processes it cheaply)."""
    row = f"{seed},sample,{'x' * 40}\n".encode()
    head = b"id,kind,payload\n"
    return head + row * max(1, (size - len(head)) // len(row))


__all__ = ["DEFAULT_MIX", "ShapeStage", "build_stages", "csv_payload", "duration", "empty_summary",
           "stage_at", "stretch", "upload_size"]
