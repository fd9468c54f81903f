"""The ``[dast]`` section of harness.toml, read defensively, with per-profile defaults.

```toml
[dast]
rules = "policies/dast-rules.tsv"   # relative to the repo root
default_action = "WARN"             # for rule ids the rules file does not list
scan_profile = "full"               # full | passive; default: full on local/kind, passive elsewhere
seed = 20261126
api_prefix = "/api/"
zap_api_url = "http://127.0.0.1:8090"   # else $ZAP_API_URL, else zap.sh on PATH, else skipped
zap_target_host = "172.17.0.1"          # how a containerised ZAP reaches an app bound to 127.0.0.1
zap_shared_dir = "/zap/wrk"             # where ZAP writes its SARIF report, as ZAP sees it ...
zap_shared_dir_local = "/tmp/zap-wrk"   # ... and as we see it (a mounted volume)
[dast.profiles.nightly]
max_examples = 200
zap_active_minutes = 30
```
``ZAP_TARGET_HOST``, ``ZAP_SHARED_DIR`` and ``ZAP_SHARED_DIR_LOCAL`` in the environment stand in for
the last three when the config does not set them (CI sets them next to ``ZAP_API_URL``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.stages.dast.rules import Action, parse_action
from harness.stages.dast.schemathesis_run import SchemathesisOptions
from harness.stages.dast.zap import ZapOptions

ACTIVE_TARGETS = ("local", "kind")  # environments we own: full scans by default
PROFILE_DEFAULTS: dict[str, dict[str, Any]] = {
    "pr": {"max_examples": 10, "st_max_time_s": 0, "zap_spider_minutes": 1, "zap_active_minutes": 5},
    "nightly": {"max_examples": 150, "st_max_time_s": 0, "zap_spider_minutes": 5, "zap_active_minutes": 30},
}
# Read-only against environments we do not own: safe methods only, and no probing with undeclared
# methods (unsupported_method sends e.g. DELETE/PATCH to see that they answer 405).
PASSIVE_SCHEMATHESIS = ["--include-method-regex", "^(GET|HEAD|OPTIONS)$",
                        "--exclude-checks", "unsupported_method"]


@dataclass(slots=True)
class DastOptions:
    rules_path: Path
    default_action: Action
    scan_profile: str  # "full" | "passive"
    api_prefix: str
    schemathesis: SchemathesisOptions
    zap: ZapOptions
    raw: dict[str, Any]

    @property
    def active(self) -> bool:
        return self.scan_profile == "full"


def read_options(section: dict[str, Any], *, root: Path, policies: Path, profile: str,
                 target: str) -> DastOptions:
    merged = {**PROFILE_DEFAULTS.get(profile, PROFILE_DEFAULTS["pr"]), **section,
              **dict(section.get("profiles", {}).get(profile, {}))}
    scan_profile = str(merged.get("scan_profile") or ("full" if target in ACTIVE_TARGETS else "passive"))
    if scan_profile not in ("full", "passive"):
        raise ConfigError(f"[dast] scan_profile: {scan_profile!r} is not one of full, passive")
    rules = Path(str(merged["rules"])) if merged.get("rules") else policies / "dast-rules.tsv"
    st = SchemathesisOptions(
        max_examples=_int(merged, "max_examples"), seed=_int(merged, "seed", 20261126),
        max_time_s=_int(merged, "st_max_time_s") or None, workers=_int(merged, "st_workers", 1),
        request_timeout_s=float(merged.get("request_timeout_s", 10.0)),
        exclude_path_regex=str(merged.get("exclude_path_regex", r"/events$")) or None,
        extra_args=[str(a) for a in merged.get("schemathesis_args", [])])
    if scan_profile == "passive":
        st.mode, st.phases = "positive", "examples,coverage,fuzzing"
        st.extra_args = PASSIVE_SCHEMATHESIS + st.extra_args
    zap = ZapOptions(active=scan_profile == "full", spider_minutes=_int(merged, "zap_spider_minutes"),
                     active_minutes=_int(merged, "zap_active_minutes"),
                     poll_interval_s=float(merged.get("zap_poll_interval_s", 2.0)),
                     target_host=_str(merged, "zap_target_host") or os.environ.get("ZAP_TARGET_HOST"),
                     shared_dir_zap=_str(merged, "zap_shared_dir") or os.environ.get("ZAP_SHARED_DIR"),
                     shared_dir_local=_str(merged, "zap_shared_dir_local")
                     or os.environ.get("ZAP_SHARED_DIR_LOCAL"))
    default_action = parse_action(str(merged.get("default_action", "WARN")), "[dast] default_action")
    return DastOptions(rules_path=rules if rules.is_absolute() else root / rules,
                       default_action=default_action,
                       scan_profile=scan_profile, api_prefix=str(merged.get("api_prefix", "/api/")),
                       schemathesis=st, zap=zap, raw=merged)


def _str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return str(value) if value else None


def _int(data: dict[str, Any], key: str, default: int = 0) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"[dast] {key}: expected an integer, got {value!r}")
    return value


__all__ = ["PROFILE_DEFAULTS", "DastOptions", "read_options"]
