"""``results.json``: the run record itself, described by ``harness/schemas/results.schema.json``."""

from __future__ import annotations

import json
from pathlib import Path

from harness.reporters import write_atomic
from harness.results import RunRecord

FILENAME = "results.json"


def render(record: RunRecord) -> str:
    return json.dumps(record.to_dict(), indent=2, ensure_ascii=False) + "\n"


class JsonReporter:
    """Writes ``results.json``, the source every other report can be re-rendered from."""

    NAME = "json"

    def write(self, record: RunRecord, run_dir: Path) -> list[Path]:
        return [write_atomic(run_dir / FILENAME, render(record))]


__all__ = ["FILENAME", "JsonReporter", "render"]
