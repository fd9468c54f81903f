"""On a terminal, a run shows only our lines: tools' logs go to the run's evidence (issue 18)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SGR_ONLY = re.compile(r"^(?:\x1b\[[0-9;]*m)+$")  # a line that only sets colours: colorama's exit reset
# Python logging's default format and checkov's ("... [MainThread  ] [WARNI]  Failed to find ...")
LOG_LINE = re.compile(r"\[(?:DEBUG|INFO |WARNI|ERROR|CRITI)\]|^(?:DEBUG|INFO|WARNING|ERROR|CRITICAL):[\w.]+:")


def foreign_lines(raw: str) -> list[str]:
    """Lines of a terminal transcript that our progress handlers did not write."""
    lines = [part for line in raw.split("\n") for part in line.split("\r")]
    return [line for line in lines if SGR_ONLY.match(line.strip()) or _stray(ANSI.sub("", line))]


def _stray(text: str) -> bool:
    """A log line, or an escape code shown as text (what is left once the terminal's codes are out)."""
    return "\x1b" in text or bool(LOG_LINE.search(text))


def read_all(fd: int, proc: subprocess.Popen[bytes], deadline: float) -> str:
    chunks: list[bytes] = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    return b"".join(chunks).decode("utf-8", "replace")


def test_foreign_lines_are_recognised() -> None:
    transcript = ("harness: run 1 target=local\r\n  FAILED CKV_AWS_18 main.tf:3: no logging\r\n"
                  "2026-12-05 17:41:00,812 [MainThread  ] [WARNI]  Failed to find context for resource.x\r\n"
                  "WARNING:checkov.common:something\r\n\x1b[0m\r\n\x1b[0m\x1b[0m\r\n"
                  "\x1b\x1b[1m[\x1b[0m0m\r\n\x1b[32m  passed  policy\x1b[0m\r\n")
    assert foreign_lines(transcript) == [
        "2026-12-05 17:41:00,812 [MainThread  ] [WARNI]  Failed to find context for resource.x",
        "WARNING:checkov.common:something", "\x1b[0m", "\x1b[0m\x1b[0m", "\x1b\x1b[1m[\x1b[0m0m"]


@pytest.mark.slow
def test_a_policy_run_on_a_terminal_shows_only_our_lines(tmp_path: Path) -> None:
    """The repository's own policy run, on a pseudo-terminal as a person sees it: checkov logs
    ("Failed to find context for resource ...") and colorama resets its import installs."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_ACTIONS", "NO_COLOR")}
    env.update(TERM="xterm-256color", COLUMNS="400", PYTHONPATH=str(ROOT))
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from harness.cli import main; sys.exit(main())",
         "verify", "--stages", "policy", "--no-bundle",
         "--reports", str(tmp_path)], cwd=ROOT, env=env, stdin=terminal, stdout=terminal, stderr=terminal,
        start_new_session=True)
    os.close(terminal)
    try:
        transcript = read_all(controller, proc, time.monotonic() + 600)
        proc.wait(timeout=60)
    finally:
        os.close(controller)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "report: " in transcript, transcript[-2000:]  # the run finished and said so
    assert foreign_lines(transcript) == []
    record = json.loads((tmp_path / "latest" / "results.json").read_text(encoding="utf-8"))
    assert record["stages"][0]["name"] == "policy"
