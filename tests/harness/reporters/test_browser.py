"""The report in a real browser: opens from disk, no console errors, no network, looks right.

Set ``HARNESS_REPORT_SCREENSHOT=/some/dir`` to keep the screenshots for a human to look at.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from harness.reporters.html import write_html
from harness.results import find_results, load_record
from tests.harness.reporters.sample import assembled, regressed, sample_record, write_sample_run

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"Chromium not installed at {CHROMIUM}"),
]


def test_report_opens_from_disk_cleanly(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    old = write_sample_run(tmp_path / "old", sample_record(run_id="20261125T044000Z-1a2b3c4"))
    run = write_sample_run(tmp_path, regressed(sample_record(), "20261126T044000Z-3f9c2ab"))
    index = write_html(run.run_dir, baseline=load_record(find_results(old.run_dir, old.run_dir.parent)))
    problems: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(index.as_uri(), wait_until="load")
            assert page.locator("[data-verdict]").inner_text() == "FAILED"
            for section in (
                "provenance",
                "comparison",
                "controls",
                "failures",
                "waivers",
                "stage-policy",
                "stage-functional",
                "stage-dast",
                "stage-load",
                "skipped",
                "all-results",
            ):
                assert page.locator(f"#{section}").is_visible(), section
            images = page.locator("figure.chart img")
            assert images.count() == 4
            widths = [images.nth(i).evaluate("img => img.naturalWidth") for i in range(images.count())]
            assert all(w > 100 for w in widths), widths  # every SVG decoded and drew
            page.screenshot(path=str(tmp_path / "report-top.png"))
            page.screenshot(path=str(tmp_path / "report-full.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert requests == [index.as_uri()]
    _keep(tmp_path, ["report-top.png", "report-full.png"])
    assert (tmp_path / "report-full.png").stat().st_size > 50_000


def test_report_without_catalog_or_timeline_renders(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    sample_run = write_sample_run(tmp_path, assembled(sample_record(), catalog=False), with_timeline=False)
    index = write_html(sample_run.run_dir)
    problems: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(index.as_uri(), wait_until="load")
            assert page.locator("[data-catalog=absent]").is_visible()
            assert "no data in this run" in page.locator("#stage-load").inner_text()
        finally:
            browser.close()
    assert problems == []


def _keep(source: Path, names: list[str]) -> None:
    target = os.environ.get("HARNESS_REPORT_SCREENSHOT")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copy(source / name, Path(target) / name)


@pytest.mark.skipif(
    not os.environ.get("HARNESS_REPORT_RUN_DIR"), reason="set HARNESS_REPORT_RUN_DIR=<run dir>"
)
def test_a_real_run_report(tmp_path: Path) -> None:
    """After `harness verify`: HARNESS_REPORT_RUN_DIR=reports/latest pytest -m browser -k real_run."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    run_dir = Path(os.environ["HARNESS_REPORT_RUN_DIR"]).resolve()
    index = run_dir / "index.html"
    counts = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))["counts"]
    problems: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1300})
            page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(index.as_uri(), wait_until="load")
            shown = {s: page.locator(f'[data-count="{s}"]').inner_text() for s in counts}
            page.screenshot(path=str(tmp_path / "real-run-top.png"))
        finally:
            browser.close()
    assert problems == []
    assert requests == [index.as_uri()]
    assert shown == {s: str(n) for s, n in counts.items()}
    _keep(tmp_path, ["real-run-top.png"])
