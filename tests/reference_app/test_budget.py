"""A job stays within its memory budget: hostile files that would not fit are refused before they
are decoded, and the ones that fit never take the process past the budget.

The observation is the kernel's: each case runs ``processing.process`` in a fresh interpreter and
reports its peak RSS growth (VmHWM after minus VmRSS before), independent of the cost model that
decided to accept or refuse the file.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from easy_upload.budget import MIB, Budget
from easy_upload.errors import ProcessingError
from easy_upload.processing import process
from tests.reference_app import hostile
from tests.reference_app.app import planted_env

BUDGET_MIB = 128
CHILD = """
import json, sys
from pathlib import Path
from easy_upload.budget import Budget, MIB
from easy_upload.errors import ProcessingError
from easy_upload.memory import pin_mmap_threshold
from easy_upload.processing import process

pin_mmap_threshold()  # as the worker does (cli.py)
def status(field):
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(field))
    return int(line.split()[1]) * 1024
path, mime, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
src = open(path, "rb")
before = status("VmRSS:")
try:
    out = process(src, mime, budget=Budget(budget * MIB))
    outcome = {"state": "completed", "facts": out.facts}
except ProcessingError as exc:
    outcome = {"state": "failed", "reason": str(exc)}
outcome["peak_growth"] = status("VmHWM:") - before
print(json.dumps(outcome))
"""

# name -> (mime, generator, fits in BUDGET_MIB?)
CASES: dict[str, tuple[str, Callable[[], bytes], bool]] = {
    "webp-fits": ("image/webp", lambda: hostile.webp_bomb(2200, 2200), True),
    "webp-bomb": ("image/webp", lambda: hostile.webp_bomb(8000, 8000), False),
    "png-fits": ("image/png", lambda: hostile.png_bomb(4400, 4400), True),
    "png-bomb": ("image/png", lambda: hostile.png_bomb(8000, 8000), False),
    "gif-fits": ("image/gif", lambda: hostile.gif_bomb(9000, 9000), True),
    "gif-bomb": ("image/gif", lambda: hostile.gif_bomb(10000, 10000), False),
    "jpeg-progressive-fits": ("image/jpeg", lambda: hostile.jpeg_bomb(2600, 2600, progressive=True), True),
    "jpeg-progressive-bomb": ("image/jpeg", lambda: hostile.jpeg_bomb(2800, 2800, progressive=True), False),
    "jpeg-cmyk-fits": ("image/jpeg", lambda: hostile.jpeg_bomb(4400, 4400), True),
    "json-arrays-fits": ("application/json", lambda: hostile.many_arrays_json(1_000_000), True),
    "json-arrays-bomb": ("application/json", lambda: hostile.many_arrays_json(2_000_000), False),
    "pdf-objects-fits": ("application/pdf", lambda: hostile.many_pages_pdf(8_000), True),
    "pdf-objects-bomb": ("application/pdf", lambda: hostile.many_pages_pdf(20_000), False),
}


def run_child(tmp_path: Path, mime: str, payload: bytes, planted: str = "") -> dict[str, object]:
    path = tmp_path / "input"
    path.write_bytes(payload)
    env = {**os.environ, **planted_env(planted)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), mime, str(BUDGET_MIB)],
                          capture_output=True, text=True, timeout=120, check=False, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    outcome: dict[str, object] = json.loads(done.stdout)
    return outcome


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_files_stay_within_the_budget(tmp_path: Path, name: str) -> None:
    mime, make, fits = CASES[name]
    outcome = run_child(tmp_path, mime, make())
    assert outcome["state"] == ("completed" if fits else "failed"), outcome
    growth = outcome["peak_growth"]
    assert isinstance(growth, int)
    assert growth <= BUDGET_MIB * MIB, f"{name}: {growth / MIB:.0f} MiB"
    if not fits:
        assert "MiB to process; the limit per file is" in str(outcome["reason"])
        assert growth < 16 * MIB  # refused from the header, before decoding


def test_a_refusal_names_the_need_and_the_limit() -> None:
    with pytest.raises(ProcessingError, match=r"this 8000x8000 image needs about \d+ MiB to process; "
                                              r"the limit per file is 88 MiB"):
        process(io.BytesIO(hostile.webp_bomb(8000, 8000)), "image/webp", budget=Budget(BUDGET_MIB * MIB))


@pytest.mark.slow
def test_the_planted_variant_decodes_past_the_budget(tmp_path: Path) -> None:
    """``no_memory_budget`` (the pixel-count limit and the copies) takes the same file past it."""
    mime, make, _ = CASES["png-fits"]
    outcome = run_child(tmp_path, mime, make(), planted="no_memory_budget")
    growth = outcome["peak_growth"]
    assert outcome["state"] == "completed" and isinstance(growth, int) and growth > BUDGET_MIB * MIB


def test_a_csv_line_longer_than_the_budget_allows_is_refused() -> None:
    budget = Budget(48 * MIB)  # 8 MiB past the fixed part: lines up to 512 KiB
    with pytest.raises(ProcessingError, match=r"invalid CSV: a line is longer than 524288 characters"):
        process(io.BytesIO(hostile.huge_line_csv(600 * 1024)), "text/csv", budget=budget)
    accepted = process(io.BytesIO(hostile.huge_line_csv(400 * 1024)), "text/csv", budget=budget)
    accepted.close()
    assert accepted.facts == {"rows": 2}
