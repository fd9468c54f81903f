"""The page in Chromium: paste a token, upload a PNG, watch it complete, see the thumbnail."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reference_app import samples
from tests.reference_app.app import AppProcesses

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.services, pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Chromium not installed at {CHROMIUM}"),
]


def test_upload_a_png_on_the_page(easy_upload: AppProcesses, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    token = easy_upload.command("create-user", "browser-user").strip()
    picture = tmp_path / "pixel.png"
    picture.write_bytes(samples.png())
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(easy_upload.base_url + "/")
            page.fill("#token", token)
            page.click("#save-token")
            page.set_input_files("#file", str(picture))
            page.click("#upload")
            expect(page.locator("#state")).to_have_attribute("data-state", "completed", timeout=30_000)
            expect(page.locator("#download")).to_be_visible()
            expect(page.locator("#thumbnail")).to_be_visible()
            assert '"detected_type": "image/png"' in page.locator("#manifest").inner_text()
            href = page.locator("#download").get_attribute("href") or ""
            assert "processed-uploads" in href and "result.png" in href
        finally:
            browser.close()
    assert errors == [], errors
