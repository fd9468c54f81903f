"""The policy stage's options, from ``[policy]`` in the harness config (the config schema has refused
unknown keys and wrong types at load, naming the file and the key) or plain arguments."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.catalog import BUILTIN_POLICIES
from harness.stages.policy.checkov_run import FRAMEWORKS

if TYPE_CHECKING:
    from harness.config import HarnessConfig

# Where repos without a harness.toml usually keep their manifests (Helm charts included).
CONVENTIONAL_MANIFESTS = ("manifests", "k8s", "deploy", "charts")
DEFAULT_TAGS = ("Environment", "Owner", "CostCenter", "Application")
# [policy] keys that are lists of strings, held as tuples
_LISTS = ("frameworks", "skip_checks", "exclude", "manual_environments", "required_tags",
          "raw_bucket_patterns", "ecr_exempt_environments", "edge_ingress_classes", "edge_namespaces")


@dataclass(frozen=True, slots=True)
class PolicyOptions:
    """Everything the stage needs, as plain paths and values (testable without a config file)."""

    root: Path
    terraform: Path
    manifests: Path | tuple[Path, ...]
    policies: Path
    baseline: Path | None = None
    waivers: Path | None = None
    frameworks: tuple[str, ...] = FRAMEWORKS
    skip_checks: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ("tests",)
    k8s_version: str | None = None
    manual_environments: tuple[str, ...] = ("production",)
    required_tags: tuple[str, ...] = DEFAULT_TAGS
    raw_bucket_patterns: tuple[str, ...] = ("*raw*",)
    ecr_exempt_environments: tuple[str, ...] = ("local",)
    edge_ingress_classes: tuple[str, ...] = ("nginx",)
    edge_namespaces: tuple[str, ...] = ("ingress-nginx",)
    allow_checkov_drift: bool = False
    builtin_policies: Path = BUILTIN_POLICIES
    today: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())

    @classmethod
    def for_root(cls, root: Path, **overrides: Any) -> PolicyOptions:
        """Defaults for a repo without configuration: the conventional layout (terraform/, and
        manifests/, k8s/, deploy/, charts/ where they exist; policies/)."""
        root = root.resolve()
        base: dict[str, Any] = {"terraform": root / "terraform", "manifests": conventional_manifests(root),
                                "policies": root / "policies"}
        return cls(root=root, **{**base, **overrides})

    @property
    def manifest_dirs(self) -> tuple[Path, ...]:
        return (self.manifests,) if isinstance(self.manifests, Path) else tuple(self.manifests)

    @classmethod
    def from_config(cls, config: HarnessConfig) -> PolicyOptions:
        section = config.policy
        root = Path(config.root)
        values: dict[str, Any] = {"terraform": config.paths.terraform, "manifests": config.paths.manifests,
                                  "policies": config.paths.policies}
        if config.source == "defaults":  # no harness.toml: find the conventional folders
            values["manifests"] = conventional_manifests(root)
        values.update({key: root / section[key] for key in ("baseline", "waivers") if key in section})
        values.update({key: tuple(section[key]) for key in _LISTS if key in section})
        values["k8s_version"] = section.get("k8s_version")
        values["allow_checkov_drift"] = section.get("allow_checkov_drift", False)
        return cls(root=root.resolve(), **values)

    @property
    def waivers_file(self) -> Path:
        return self.waivers or self.policies / "waivers.yaml"

    def policy_dirs(self) -> list[Path]:
        """The built-in policies, then the checked repo's own if it has different ones."""
        dirs = [self.builtin_policies]
        if self.policies.resolve() != self.builtin_policies.resolve() and self.policies.is_dir():
            dirs.append(self.policies)
        return dirs

    def rule_options(self) -> dict[str, Any]:
        return {"manual_environments": self.manual_environments, "required_tags": self.required_tags,
                "raw_bucket_patterns": self.raw_bucket_patterns,
                "ecr_exempt_environments": self.ecr_exempt_environments,
                "edge_ingress_classes": self.edge_ingress_classes, "edge_namespaces": self.edge_namespaces}


def conventional_manifests(root: Path) -> tuple[Path, ...]:
    """The conventional manifest folders that exist under ``root`` (``manifests/`` when none does)."""
    found = tuple(root / name for name in CONVENTIONAL_MANIFESTS if (root / name).is_dir())
    return found or (root / "manifests",)


__all__ = ["BUILTIN_POLICIES", "CONVENTIONAL_MANIFESTS", "PolicyOptions", "conventional_manifests"]
