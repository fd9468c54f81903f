"""The ``[dast]`` section of harness.toml with per-profile defaults, read into a frozen
:class:`DastOptions`. The config schema has refused unknown keys (also in each profile table) and
wrong types at load, naming the file and the key; what is left here are the rules it cannot express
(``METHOD /path`` entries, the login's users and their passwords' environment variables).

```toml
[dast]
rules = "policies/dast-rules.tsv"   # default: that file when it exists, else the harness' built-in rules
scan_profile = "full"               # full (active) | passive; default: full on local, kind and existing
                                    # targets unless the environment file says "production": true
seed = 20261126                     # default: a fresh seed per run (recorded; --dast-seed replays it)
phases = "coverage,fuzzing"         # Schemathesis phases (default: all four; passive: no stateful)
spec = "openapi.yaml"               # a URL or a file; default: {api_url}/openapi.json
exclude_operations = ["GET /createdb", "DELETE /api/users/{id}"]   # never called, by any tool
rate_limit = 20                     # requests per second, every tool
expensive_operations = ["POST /api/reports"]   # also get the rate-limit burst (logins always do)
slow_response_s = 1.0               # the budget for crafted input (ReDoS); Schemathesis' max_response_time
                                    # flags any answer slower than twice that (at least 2 s)
max_page_items = 1000
[dast.login]                        # see harness/stages/dast/login.py
[dast.profiles.nightly]
max_examples = 200
max_requests = 60000
max_seconds = 2400
```
ZAP: ``zap_api_url``/``ZAP_API_URL``, ``zap_target_host``/``ZAP_TARGET_HOST``, ``zap_shared_dir``/
``ZAP_SHARED_DIR``, ``zap_shared_dir_local``/``ZAP_SHARED_DIR_LOCAL`` (see ``zap.py``).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.stages.dast.login import LoginConfig
from harness.stages.dast.rules import Action, default_rules_path, parse_action
from harness.stages.dast.schemathesis_run import SchemathesisOptions
from harness.stages.dast.spec import Exclusions
from harness.stages.dast.zap import ZapOptions

ACTIVE_TARGETS = ("local", "kind", "existing")  # environments the harness may attack, unless production
PROFILE_DEFAULTS: dict[str, dict[str, Any]] = {
    "pr": {
        "max_examples": 10,
        "max_requests": 6000,
        "max_seconds": 600,
        "fill_time": False,
        "burst": 20,
        "zap_spider_minutes": 1,
        "zap_active_minutes": 5,
    },
    "nightly": {
        "max_examples": 150,
        "max_requests": 60000,
        "max_seconds": 2400,
        "fill_time": True,
        "burst": 50,
        "zap_spider_minutes": 5,
        "zap_active_minutes": 30,
    },
}
# Read-only against production: safe methods only, positive data only, no undeclared methods.
PASSIVE_SCHEMATHESIS = ["--include-method-regex", "^(GET|HEAD|OPTIONS)$"]
PASSIVE_EXCLUDED_CHECKS = (
    "negative_data_rejection",
    "object_level_authorization",
    "use_after_free",
    "ensure_resource_availability",
    "unsupported_method",
    "missing_required_header",
    "allow_header_conformance",
)


@dataclass(frozen=True, slots=True)
class DastOptions:
    """``[dast]`` merged with the run profile's defaults and its ``[dast.profiles.<profile>]`` table."""

    rules_path: Path
    default_action: Action | None
    scan_profile: str  # "full" | "passive"
    mode_reason: str  # why this mode ran (shown in the report)
    api_prefix: str
    schemathesis: SchemathesisOptions
    zap: ZapOptions
    raw: dict[str, Any]
    seed: int
    seed_given: bool
    spec: str | None
    exclusions: Exclusions
    login: LoginConfig | None
    max_requests: int
    max_seconds: int
    rate_per_s: float | None
    slow_response_s: float
    max_page_items: int
    burst: int
    expensive: list[tuple[str, str]] = field(default_factory=list)
    sqlmap_timeout_s: float = 120.0

    @property
    def active(self) -> bool:
        return self.scan_profile == "full"


def read_options(
    section: dict[str, Any],
    *,
    root: Path,
    policies: Path,
    profile: str,
    target: str,
    production: bool = False,
) -> DastOptions:
    """The options of one run, from the schema-checked ``section`` (``HarnessConfig.dast``)."""
    merged = {
        **PROFILE_DEFAULTS.get(profile, PROFILE_DEFAULTS["pr"]),
        **section,
        **dict(section.get("profiles", {}).get(profile, {})),
    }
    scan_profile, why = _mode(merged, target, production)
    seed_given = merged.get("seed") is not None
    seed = merged["seed"] if seed_given else secrets.randbelow(2**31 - 1) + 1
    max_seconds = merged["max_seconds"]
    slow_response_s = float(merged.get("slow_response_s", 1.0))
    st = SchemathesisOptions(
        max_examples=merged["max_examples"],
        seed=seed,
        max_time_s=int(max_seconds * 0.6) if merged.get("fill_time") else merged.get("st_max_time_s") or None,
        workers=merged.get("st_workers", 1),
        request_timeout_s=float(merged.get("request_timeout_s", 10.0)),
        exclude_path_regex=merged.get("exclude_path_regex", r"/events$") or None,
        max_response_time_s=max(slow_response_s * 2, 2.0),
        timeout_s=float(max_seconds),
        extra_args=list(merged.get("schemathesis_args", [])),
    )
    if scan_profile == "passive":
        st.mode, st.phases = "positive", "examples,coverage,fuzzing"
        excluded = ["--exclude-checks", ",".join(PASSIVE_EXCLUDED_CHECKS)]
        st.extra_args = [*PASSIVE_SCHEMATHESIS, *excluded, *st.extra_args]
    st.phases = merged.get("phases") or st.phases
    default_action = merged.get("default_action")
    expensive = Exclusions.parse(merged.get("expensive_operations", []), "[dast] expensive_operations")
    return DastOptions(
        rules_path=_rules_path(merged, root, policies),
        default_action=parse_action(default_action, "[dast] default_action") if default_action else None,
        scan_profile=scan_profile,
        mode_reason=why,
        api_prefix=merged.get("api_prefix", "/api/"),
        schemathesis=st,
        zap=_zap(merged, scan_profile),
        raw=merged,
        seed=seed,
        seed_given=seed_given,
        spec=merged.get("spec"),
        exclusions=Exclusions.parse(merged.get("exclude_operations", [])),
        login=LoginConfig.parse(merged.get("login")),
        max_requests=merged["max_requests"],
        max_seconds=max_seconds,
        rate_per_s=float(merged.get("rate_limit", 0)) or None,
        slow_response_s=slow_response_s,
        max_page_items=merged.get("max_page_items", 1000),
        burst=merged["burst"],
        expensive=list(expensive.entries),
        sqlmap_timeout_s=float(merged.get("sqlmap_timeout_s", 120.0)),
    )


def _mode(merged: dict[str, Any], target: str, production: bool) -> tuple[str, str]:
    """(full | passive, why): the user's choice, else active where the harness may attack."""
    asked = merged.get("scan_profile")
    if asked:
        return str(asked), f"[dast] scan_profile = {asked!r}"
    if production:
        return "passive", 'the environment file says "production": true'
    if target in ACTIVE_TARGETS:
        return "full", f'target {target!r} may be attacked (set [dast] scan_profile = "passive" to not)'
    return "passive", f"target {target!r} is not one the harness may attack"


def _rules_path(merged: dict[str, Any], root: Path, policies: Path) -> Path:
    if merged.get("rules"):
        path = Path(merged["rules"])
        return path if path.is_absolute() else root / path
    repo = policies / "dast-rules.tsv"
    return repo if repo.is_file() else default_rules_path()


def _zap(merged: dict[str, Any], scan_profile: str) -> ZapOptions:
    return ZapOptions(
        active=scan_profile == "full",
        spider_minutes=merged["zap_spider_minutes"],
        active_minutes=merged["zap_active_minutes"],
        poll_interval_s=float(merged.get("zap_poll_interval_s", 2.0)),
        target_host=merged.get("zap_target_host") or os.environ.get("ZAP_TARGET_HOST"),
        shared_dir_zap=merged.get("zap_shared_dir") or os.environ.get("ZAP_SHARED_DIR"),
        shared_dir_local=merged.get("zap_shared_dir_local") or os.environ.get("ZAP_SHARED_DIR_LOCAL"),
    )


__all__ = ["ACTIVE_TARGETS", "PASSIVE_EXCLUDED_CHECKS", "PROFILE_DEFAULTS", "DastOptions", "read_options"]
