"""One typed :class:`HarnessConfig`, loaded from ``harness.toml`` or ``[tool.harness]`` in
``pyproject.toml``, validated against ``harness/schemas/config.schema.json``.

Components receive this object, never an argparse namespace or a ``pytest.Config``. CLI and pytest
options are applied with :meth:`HarnessConfig.update`, which validates them the same way and names
the offending option in its error.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.schemas import check, load_schema, read_document

CONFIG_FILE = "harness.toml"
PYPROJECT = "pyproject.toml"
STAGE_NAMES = ("policy", "functional", "dast", "load")
PROFILES = ("pr", "nightly")
PATH_KEYS = ("terraform", "manifests", "policies", "scenarios", "reports")


def config_schema() -> dict[str, Any]:
    """The JSON Schema every config source is validated against."""
    return load_schema("config")


@dataclass(slots=True, frozen=True)
class Paths:
    """Where the checked repo keeps its inputs and where reports go (absolute paths)."""

    terraform: Path
    manifests: Path
    policies: Path
    scenarios: Path
    reports: Path

    @classmethod
    def under(cls, root: Path, overrides: dict[str, str] | None = None) -> Paths:
        given = overrides or {}
        return cls(**{key: (root / given.get(key, key)).resolve() for key in PATH_KEYS})


@dataclass(slots=True, frozen=True)
class HarnessConfig:
    """The whole configuration of one run. Per-stage sections are the schema-checked tables; each stage
    reads its own into a frozen options dataclass (e.g. ``DastOptions``)."""

    root: Path
    paths: Paths
    target: str = "local"
    stages: tuple[str, ...] = STAGE_NAMES
    profile: str = "pr"
    policy: dict[str, Any] = field(default_factory=dict)
    functional: dict[str, Any] = field(default_factory=dict)
    dast: dict[str, Any] = field(default_factory=dict)
    load: dict[str, Any] = field(default_factory=dict)
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)
    terraform: dict[str, Any] = field(default_factory=dict)  # [terraform]: binary, plugin_dir, timeout_s
    redact_patterns: tuple[str, ...] = ()
    source: str = "defaults"

    @classmethod
    def defaults(cls, root: Path) -> HarnessConfig:
        root = root.resolve()
        return cls(root=root, paths=Paths.under(root))

    @classmethod
    def discover(cls, root: Path | str = ".") -> HarnessConfig:
        """``root/harness.toml``, else ``[tool.harness]`` in ``root/pyproject.toml``, else defaults."""
        root_path = Path(root)
        if not root_path.is_dir():
            raise ConfigError(f"--root: {root} is not a directory")
        if (root_path / CONFIG_FILE).is_file():
            return cls.from_path(root_path / CONFIG_FILE)
        pyproject = root_path / PYPROJECT
        if pyproject.is_file():
            section = _read_toml(pyproject).get("tool", {}).get("harness")
            if section is not None:
                return cls.from_dict(section, root=root_path, source=f"{_shown(pyproject)} [tool.harness]")
        return cls.defaults(root_path)

    @classmethod
    def from_path(cls, path: Path | str, *, root: Path | str | None = None) -> HarnessConfig:
        """Load a ``harness.toml`` (or a pyproject.toml's ``[tool.harness]``).

        Paths in it are relative to ``root``, by default the file's folder.
        """
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"--config: {path}: no such file")
        base = Path(root) if root is not None else path.parent
        data = _read_toml(path)
        if path.name == PYPROJECT:
            return cls.from_dict(data.get("tool", {}).get("harness", {}), root=base,
                                 source=f"{_shown(path)} [tool.harness]")
        return cls.from_dict(data, root=base, source=_shown(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, root: Path, source: str) -> HarnessConfig:
        validate(data, source)
        root = root.resolve()
        return cls(
            root=root,
            paths=Paths.under(root, data.get("paths")),
            target=data.get("target", "local"),
            stages=_ordered(data.get("stages", STAGE_NAMES)),
            profile=data.get("profile", "pr"),
            policy=dict(data.get("policy", {})),
            functional=dict(data.get("functional", {})),
            dast=dict(data.get("dast", {})),
            load=dict(data.get("load", {})),
            targets={k: dict(v) for k, v in data.get("targets", {}).items()},
            terraform=dict(data.get("terraform", {})),
            redact_patterns=tuple(data.get("redact", {}).get("patterns", ())),
            source=source,
        )

    def update(self, **overrides: Any) -> HarnessConfig:
        """A copy with command-line overrides applied (``None`` = not given), validated per option.

        Accepts ``target``, ``stages`` (list or comma-separated string), ``profile``, ``reports``
        (a path, relative to the current directory), ``dast_seed`` (``[dast] seed``) and
        ``load_workers`` (``[load] processes``: Locust worker processes, distributed mode when > 1).
        """
        given = {key: value for key, value in overrides.items() if value is not None}
        unknown = sorted(set(given) - {"target", "stages", "profile", "reports", "dast_seed", "load_workers"})
        if unknown:
            raise ConfigError(f"update(): unknown override {unknown[0]!r}")
        if isinstance(given.get("stages"), str):
            given["stages"] = [s.strip() for s in given["stages"].split(",") if s.strip()]
        for key in [k for k in given if k in ("target", "stages", "profile")]:
            _validate_option(f"--{key}", given[key], config_schema()["properties"][key])
        changes: dict[str, Any] = {k: v for k, v in given.items() if k in ("target", "profile")}
        if "stages" in given:
            changes["stages"] = _ordered(given["stages"])
        if "reports" in given:
            changes["paths"] = replace(self.paths, reports=Path(given["reports"]).resolve())
        if "dast_seed" in given:
            seed_schema = config_schema()["$defs"]["dast"]["properties"]["seed"]
            _validate_option("--dast-seed", given["dast_seed"], seed_schema)
            changes["dast"] = {**self.dast, "seed": given["dast_seed"]}
        if "load_workers" in given:
            changes["load"] = {**self.load, "processes": load_workers(given["load_workers"])}
        return replace(self, **changes)

    def stage_options(self, stage: str) -> dict[str, Any]:
        """The ``[<stage>]`` section as the schema checked it, e.g. ``config.stage_options("dast")``."""
        section: dict[str, Any] = getattr(self, stage) if stage in STAGE_NAMES else {}
        return section

    def target_options(self, name: str) -> dict[str, Any]:
        """The free-form ``[targets.<name>]`` section."""
        return self.targets.get(name, {})


def load_workers(value: object, option: str = "--load-workers") -> int:
    """A Locust worker count given as ``option``: a whole number >= 1, else a ConfigError naming
    ``option`` (the CLI's ``--load-workers``, the pytest plugin's ``--harness-load-workers``)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{option}: expected a whole number >= 1, got {value!r}")
    return value


def validate(data: dict[str, Any], source: str) -> None:
    """Raise a one-line :class:`ConfigError` for the first schema violation in ``data``."""
    check(data, config_schema(), source, mapping="a table")


def _validate_option(option: str, value: Any, schema: dict[str, Any]) -> None:
    check(value, schema, option, mapping="a table", keyed=False)


def _ordered(stages: Any) -> tuple[str, ...]:
    """Stages always run policy -> functional -> dast -> load, whatever order they were given in."""
    order = {name: index for index, name in enumerate(STAGE_NAMES)}
    return tuple(sorted(stages, key=lambda name: order.get(name, len(order))))


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the current directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _read_toml(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = read_document(path, _shown(path))
    return data


__all__ = ["CONFIG_FILE", "PROFILES", "STAGE_NAMES", "HarnessConfig", "Paths", "validate"]
