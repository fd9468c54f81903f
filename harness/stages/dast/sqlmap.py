"""Confirm a suspected SQL injection with sqlmap (https://sqlmap.org, ``pip install sqlmap``).

The harness' own check suspects; sqlmap, an independent engine, confirms. It gets the request as a
raw HTTP request file (``-r``, private, mode 0600: it holds the user's token) with sqlmap's custom
injection marker ``*`` after the parameter's value, and runs in batch mode with boolean, error and
UNION techniques only (no time-based ones: bounded time), once per suspected parameter. Its output
is kept as evidence. Without sqlmap the suspicion stands on the harness' own observation and the
result says it was not confirmed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.stages.dast.wire import label_tokens, token_label, write_private

ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[A-Za-z]|\(B|[>=])")
MAX_RUNS = 3  # suspected injection points confirmed per scan (each run is bounded in time)
CONFIRMED = re.compile(r"sqlmap identified the following injection point|is vulnerable", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Confirmation:
    confirmed: bool
    output: Path
    summary: str


def locate() -> str | None:
    """The sqlmap executable: next to this Python first (a venv), then on PATH."""
    beside = Path(sys.executable).with_name("sqlmap")
    return str(beside) if beside.is_file() else shutil.which("sqlmap")


def version(executable: str) -> str:
    try:
        done = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "sqlmap"
    return f"sqlmap {done.stdout.strip().split('#')[0] or 'unknown'}"


def raw_request(replay: dict[str, Any], tokens: dict[str, str]) -> str:
    """The HTTP/1.1 request sqlmap reads with ``-r`` (token labels turned back into tokens)."""
    parts = urlsplit(str(replay["url"]))
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{replay['method']} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in dict(replay.get("headers", {})).items() if k.lower() != "host"]
    text = "\r\n".join(lines) + "\r\n\r\n" + str(replay.get("body") or "")
    for owner, token in tokens.items():
        text = text.replace(token_label(owner), token)
    return text


def confirm(
    executable: str, replay: dict[str, Any], tokens: dict[str, str], output: Path, timeout_s: float = 120.0
) -> Confirmation:
    """Run sqlmap on one suspected injection point; its (token-labelled) output goes to ``output``."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="harness-sqlmap-") as private:
        request = Path(private) / "request.txt"
        write_private(request, raw_request(replay, tokens))
        # A made-up identifier answers 404 before any injection: that must not end the test.
        command = [
            executable, "-r", str(request), "--batch", "--technique=BEU", "--level=1", "--risk=1",
            "--flush-session", f"--output-dir={private}/out", "--disable-coloring", "--timeout=10",
            "--retries=0", "--threads=1", "-v", "1", "--ignore-code=401,403,404",
        ]
        if urlsplit(str(replay["url"])).scheme == "https":
            command.append("--force-ssl")
        text, summary = _run(command, private, timeout_s)
    output.write_text(label_tokens(text, tokens), encoding="utf-8")
    confirmed = CONFIRMED.search(text) is not None
    return Confirmation(confirmed, output, _injection_summary(text) if confirmed else summary)


def confirm_records(
    records: list[dict[str, Any]], tokens: dict[str, str], out_dir: Path, run_dir: Path, timeout_s: float
) -> None:
    """sqlmap on each suspected SQL injection point (a few per run); its verdict goes into the records."""
    suspects = [r for r in records if r.get("check") == "sql_injection" and r.get("replay")]
    executable = locate() if suspects else None
    if suspects and executable is None:
        for record in suspects:
            record["detail"] = (
                f"{record['detail']}\nnot confirmed: sqlmap is not installed (pip install sqlmap)"
            )
    if not suspects or executable is None:
        return
    tool = version(executable)
    for index, record in enumerate(suspects[:MAX_RUNS]):
        result = confirm(
            executable, record["replay"], tokens, out_dir / f"{index + 1}.txt", timeout_s=timeout_s
        )
        record["detail"] = f"{record['detail']}\n{tool}: {result.summary}"
        record["attachments"] = [str(result.output.relative_to(run_dir))]
        if result.confirmed:
            record["confirmed_by"] = tool


def _run(command: list[str], cwd: str, timeout_s: float) -> tuple[str, str]:
    environ = {**os.environ, "TERM": "dumb", "NO_COLOR": "1"}
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=environ,
        )
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout if isinstance(exc.stdout, str) else (exc.stdout or b"").decode(errors="replace")
        stopped = f"did not finish in {timeout_s:.0f}s"
        return f"{_plain(partial)}\n[harness] sqlmap {stopped}", stopped
    return _plain(done.stdout + done.stderr), f"did not confirm (exit {done.returncode})"


def _plain(text: str) -> str:
    """Without the terminal control sequences sqlmap prints even to a pipe."""
    return ANSI.sub("", text)


def _injection_summary(text: str) -> str:
    """sqlmap's own lines naming the parameter, type and title of what it found."""
    found = [
        line.strip()
        for line in text.splitlines()
        if line.strip().startswith(("Parameter:", "Type:", "Title:"))
    ]
    return "confirmed: " + "; ".join(found[:6]) if found else "confirmed"


__all__ = ["Confirmation", "confirm", "confirm_records", "locate", "raw_request", "version"]
