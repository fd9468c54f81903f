"""Functional scenarios: ``scenarios/functional/*.yaml`` validated against ``scenario.schema.json``.

Errors name the file and the key, e.g.
``scenarios/functional/x.yaml: steps[2].expect.status: expected an integer or a list, got 'ok'``.
See ``scenarios/README.md`` for the format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.schemas import check, read_document

SCHEMA_FILE = Path(__file__).with_name("scenario.schema.json")
ACTIONS = ("upload", "request", "events", "wait", "until", "processed", "download", "db", "subscribers",
           "action", "invariants", "ready", "repeat", "browser", "posture", "hostile", "hold", "slow",
           "alerts", "crash", "settled", "abandon")
NESTING = {"repeat": "steps", "hold": "during", "slow": "during"}  # actions that run nested steps
CONTROL_ACTIONS = ("action", "crash", "abandon")  # act on the environment: need the Control, run alone


@cache
def scenario_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


@dataclass(frozen=True, slots=True)
class Scenario:
    """One validated scenario file."""

    name: str
    title: str
    steps: tuple[dict[str, Any], ...]
    source: str
    category: str = "happy"
    severity: str = "high"
    controls: tuple[str, ...] = ()
    exclusive: bool = False
    slow: bool = False
    profiles: tuple[str, ...] = ("pr", "nightly")
    users: tuple[str, ...] = ("alice", "bob")
    continue_on_failure: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def result_id(self) -> str:
        return f"SCN-{self.name}"

    @property
    def needs_control(self) -> bool:
        return any(kind in CONTROL_ACTIONS for kind in walk_actions(self.steps))

    @property
    def needs_browser(self) -> bool:
        return "browser" in walk_actions(self.steps)

    @classmethod
    def from_dict(cls, data: Any, source: str) -> Scenario:
        validate_scenario(data, source)
        return cls(
            name=data["name"], title=data.get("title", data["name"]), steps=tuple(data["steps"]),
            source=source, category=data.get("category", "happy"), severity=data.get("severity", "high"),
            controls=tuple(data.get("controls", ())),
            exclusive=bool(data.get("exclusive", False)) or _has_action(data["steps"]),
            slow=bool(data.get("slow", False)), profiles=tuple(data.get("profiles", ("pr", "nightly"))),
            users=tuple(data.get("users", ("alice", "bob"))),
            continue_on_failure=bool(data.get("continue_on_failure", False)), raw=data,
        )


def _has_action(steps: list[dict[str, Any]]) -> bool:
    return any(kind in CONTROL_ACTIONS for kind in walk_actions(steps))


def walk_actions(steps: Any) -> list[str]:
    """The action keys of ``steps``, including those nested in ``repeat``, ``hold`` and ``slow``."""
    found: list[str] = []
    for step in steps:
        kind = action_of(step)
        found.append(kind)
        if kind in NESTING:
            found += walk_actions(step[kind].get(NESTING[kind]) or [])
    return found


def action_of(step: dict[str, Any]) -> str:
    return next(key for key in step if key in ACTIONS)


def validate_scenario(data: Any, source: str) -> None:
    """Raise a one-line :class:`ConfigError` naming ``source`` and the key of the first problem."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top, got {type(data).__name__}")
    _check_actions(data.get("steps"), "steps", source)
    check(data, scenario_schema(), source)

def _check_actions(steps: Any, where: str, source: str) -> None:
    """One action per step, said plainly (jsonschema's oneOf message is unreadable)."""
    if not isinstance(steps, list):
        return
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        keys = [k for k in step if k in ACTIONS]
        if len(keys) != 1:
            got = ", ".join(keys) if keys else f"none (keys: {', '.join(map(str, step)) or '-'})"
            raise ConfigError(f"{source}: {where}[{index}]: expected exactly one action of "
                              f"{', '.join(ACTIONS)}; got {got}")
        nested = NESTING.get(keys[0])
        if nested and isinstance(step[keys[0]], dict):
            _check_actions(step[keys[0]].get(nested), f"{where}[{index}].{keys[0]}.{nested}", source)


def load_scenario(path: Path, root: Path | None = None) -> Scenario:
    """Read and validate one scenario file."""
    source = _shown(path, root)
    scenario = Scenario.from_dict(read_document(path, source), source)
    if scenario.name != path.stem:
        raise ConfigError(f"{source}: name: {scenario.name!r} must equal the file name {path.stem!r}")
    return scenario


def load_scenarios(directory: Path, *, profile: str | None = None, only: set[str] | None = None,
                   root: Path | None = None) -> list[Scenario]:
    """Every scenario of ``directory`` (sorted by name), filtered by profile and names."""
    scenarios = [load_scenario(p, root) for p in sorted(directory.glob("*.yaml"))]
    if only:
        unknown = sorted(only - {s.name for s in scenarios})
        if unknown:
            raise ConfigError(f"functional.scenarios: unknown scenario {unknown[0]!r} in {directory}")
        scenarios = [s for s in scenarios if s.name in only]
    return [s for s in scenarios if profile is None or profile in s.profiles]


def _shown(path: Path, root: Path | None) -> str:
    for base in (root, Path.cwd()):
        if base is not None:
            try:
                return str(path.resolve().relative_to(base.resolve()))
            except ValueError:
                continue
    return str(path)


__all__ = [
    "ACTIONS",
    "Scenario",
    "action_of",
    "load_scenario",
    "load_scenarios",
    "scenario_schema",
    "validate_scenario",
    "walk_actions",
]
