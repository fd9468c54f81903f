"""The page, end to end, in Chromium driven by Playwright (the system's chromium; nothing downloaded).

Playwright's sync API must not run inside an asyncio loop; the stage calls this from worker threads.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from harness.stages.functional.backends import sha256
from harness.stages.functional.context import Context, StepFailed, StepSkipped, Upload
from harness.stages.functional.payloads import make_payload

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]


def find_chromium() -> str | None:
    """``HARNESS_CHROMIUM``, else the distribution's chromium."""
    configured = os.environ.get("HARNESS_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    found = [c for c in CHROMIUM_CANDIDATES if Path(c).is_file()]
    return found[0] if found else shutil.which("chromium")


def browser_step(ctx: Context, spec: dict[str, Any], expect: dict[str, Any]) -> dict[str, Any]:
    executable = find_chromium()
    if executable is None:
        raise StepSkipped("Chromium not found (install the distribution's chromium or set HARNESS_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise StepSkipped("playwright is not installed") from None
    timeout_ms = float(spec.get("timeout_s", 60)) * 1000
    shots = Path(ctx.limits.get("evidence_dir") or tempfile.gettempdir()) / "functional" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="harness-browser-") as tmp, sync_playwright() as pw:
        # Chromium's own temp files (org.chromium.Chromium.*) go inside our temp dir, so an
        # interrupted run cannot leave them in /tmp.
        env: dict[str, str | float | bool] = {**os.environ, "TMPDIR": tmp}
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, env=env)
        try:
            page = browser.new_page()
            page.set_default_timeout(timeout_ms)
            page.goto(ctx.env.web_url.rstrip("/") + "/")
            page.fill("#token", ctx.user(spec.get("user")).token)
            page.click("#save-token")
            for index, file_spec in enumerate(spec["files"]):
                results.append(_one_file(ctx, page, file_spec, Path(tmp), shots, index, timeout_ms))
        finally:
            browser.close()
    ctx.measure("browser_files", len(results))
    return {"files": results}


def _one_file(ctx: Context, page: Any, file_spec: dict[str, Any], tmp: Path, shots: Path, index: int,
              timeout_ms: float) -> dict[str, Any]:
    payload = make_payload(file_spec)
    path = tmp / f"{ctx.marker}-{index}.{payload.ext}"
    path.write_bytes(payload.read())
    began = time.monotonic()
    page.set_input_files("#file", str(path))
    page.click("#upload")
    seen: list[str] = []
    try:
        page.wait_for_function(
            "() => { const s = document.getElementById('state').dataset.state; "
            "window.__seen = (window.__seen || []); if (window.__seen.at(-1) !== s) window.__seen.push(s); "
            "return s === 'completed' || s === 'failed'; }", timeout=timeout_ms, polling=50)
        seen = list(page.evaluate("window.__seen || []"))
        page.evaluate("window.__seen = []")
        page.wait_for_selector("#download[href^='http']", timeout=timeout_ms)
    finally:
        shot = shots / f"{ctx.marker}-{index}-{payload.kind}.png"
        page.screenshot(path=str(shot), full_page=True)
    state = page.get_attribute("#state", "data-state")
    if state != "completed":
        raise StepFailed(f"browser: {payload.kind} ended {state!r}: {page.inner_text('#state')}")
    progress = page.get_attribute("#progress", "value")
    href = page.get_attribute("#download", "href") or ""
    body = httpx.get(href, timeout=30).content
    manifest = page.inner_text("#manifest")
    if sha256(body) not in manifest:
        raise StepFailed(f"browser: the downloaded {payload.kind} does not match the manifest the page shows")
    _register(ctx, payload.sha256, payload.size, payload.kind, path.name)
    return {"kind": payload.kind, "states_seen": seen, "progress": progress, "downloaded_bytes": len(body),
            "seconds": round(time.monotonic() - began, 3), "screenshot": str(shot)}


def _register(ctx: Context, digest: str, size: int, kind: str, filename: str) -> None:
    """Make the page's upload known to the scenario (so invariants count it)."""
    user = next(iter(ctx.users))
    headers = ctx.app.auth(ctx.users[user].token)
    listing = ctx.api.send("GET", ctx.app.route("uploads"), headers=headers, params={"limit": 100})
    items = (listing.json() or {}).get("items", [])
    for item in items:
        if item.get("sha256") == digest and item["id"] not in ctx.uploads:
            ctx.accept(Upload(item["id"], user, digest, size, kind, filename, item))
            return
    raise StepFailed(f"browser: the {kind} upload is not in the user's list")


__all__ = ["CHROMIUM_ARGS", "browser_step", "find_chromium"]
