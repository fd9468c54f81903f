"""cloud-verify-harness: verify a cloud app with policy, functional, DAST and load stages.

The public API; everything else is internal and may change::

    from harness import HarnessConfig, Engine
    config = HarnessConfig.discover(".").update(stages="policy")
    record = Engine(config).run()
"""

from __future__ import annotations

from importlib import metadata as _metadata
from typing import TYPE_CHECKING, Any

from harness.config import HarnessConfig, Paths
from harness.errors import (
    ConfigError,
    HarnessError,
    MissingToolError,
    NotBuiltError,
    ReportError,
    RunInterrupted,
    StageError,
    TargetError,
    TargetUnavailable,
)
from harness.redact import Redactor
from harness.results import (
    GAP_KINDS,
    MODEL_PREFIX,
    SCHEMA_VERSION,
    SEVERITIES,
    ControlRecord,
    ControlStatus,
    Gap,
    Outcome,
    Provenance,
    Result,
    ResultKind,
    RunRecord,
    Severity,
    StageSummary,
    Status,
    Verdict,
    WaiverRecord,
    find_results,
    is_model,
    load_record,
    problem_rank,
)

if TYPE_CHECKING:
    from harness.engine import Engine

try:
    __version__ = _metadata.version("cloud-verify-harness")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"


def __getattr__(name: str) -> Any:
    # The engine pulls in stages and targets; import it only when asked for.
    if name == "Engine":
        from harness.engine import Engine

        return Engine
    raise AttributeError(f"module 'harness' has no attribute {name!r}")


__all__ = ["GAP_KINDS", "MODEL_PREFIX", "SCHEMA_VERSION", "SEVERITIES", "ConfigError", "ControlRecord",
           "ControlStatus", "Engine", "Gap", "HarnessConfig", "HarnessError", "MissingToolError",
           "NotBuiltError", "Outcome", "Paths", "Provenance", "Redactor", "ReportError", "Result",
           "ResultKind", "RunInterrupted", "RunRecord", "Severity", "StageError", "StageSummary", "Status",
           "TargetError", "TargetUnavailable", "Verdict", "WaiverRecord", "__version__", "find_results",
           "is_model", "load_record", "problem_rank"]
