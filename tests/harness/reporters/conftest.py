from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.reporters.sample import SampleRun, sample_record, write_sample_run


@pytest.fixture
def sample_run(tmp_path: Path) -> SampleRun:
    """The realistic run (with one errored result) laid out under tmp_path."""
    return write_sample_run(tmp_path, sample_record(with_error=True))
