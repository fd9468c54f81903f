"""Secret redaction for everything the harness writes to reports and evidence.

Two sources: known secret values (API tokens, passwords, keys), and patterns (bearer tokens, AWS
access keys, ``scheme://user:password@host`` URLs, ``password=...`` pairs). There is no process-wide
redactor: each run has one (the engine's), handed to its target (``TargetSettings.redactor``) and
to every stage (``StageContext.redactor``), which register each secret they create; the engine
redacts the run record and the text files under ``evidence/`` before anything is written.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MASK = "[REDACTED]"
MIN_SECRET_LENGTH = 4  # shorter "secrets" would shred ordinary words
MAX_EVIDENCE_BYTES = 20 * 1024 * 1024

DEFAULT_PATTERNS: tuple[tuple[str, str], ...] = (
    # Bearer <token> (long enough not to be an English word) / Authorization: Basic <credentials>
    (r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{16,}", rf"\1{MASK}"),
    (r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?basic\s+)[A-Za-z0-9+/=]+", rf"\1{MASK}"),
    # AWS access key ids
    (r"\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16}\b", MASK),
    # user:password@ in URLs (postgresql://app:pw@host/db, redis://:pw@host)
    (r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*):([^/\s@]+)@", rf"\1:{MASK}@"),
    # key=value / "key": "value" pairs whose key names a secret (a DAST finding's ``<token of bob>``
    # label names the token's owner, not the token: left alone). The value stops at a backslash:
    # inside a JSON string (a HAR's response text) it would swallow the escape of the quote after it
    # and leave the file invalid JSON (seen: "unrecognized token: \"\\u0006...").
    (
        r"(?i)([\"']?\b[\w-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)"
        r"[\"']?\s*[:=]\s*[\"']?)(?!\[REDACTED\]|<token of )([^\s\"'\\,;&}]{3,})",
        rf"\1{MASK}",
    ),
    # PEM private keys
    (r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----", MASK),
)


class Redactor:
    """Replaces registered secret values and secret-looking patterns with ``[REDACTED]``."""

    def __init__(self, patterns: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._patterns = [(re.compile(p), r) for p, r in DEFAULT_PATTERNS]
        self._patterns += [(re.compile(p), MASK) for p in patterns]

    def register(self, *secrets: str | None) -> None:
        """Remember secret values (empty and very short values are ignored)."""
        with self._lock:
            self._secrets.update(s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH)

    def add_pattern(self, pattern: str) -> None:
        compiled = re.compile(pattern)
        if all(existing != compiled for existing, _ in self._patterns):
            self._patterns.append((compiled, MASK))

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def redact(self, text: str) -> str:
        # Longest first, so a secret containing another secret is masked whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        for pattern, replacement in self._patterns:
            text = pattern.sub(replacement, text)
        return text

    def redact_data(self, data: Any) -> Any:
        """Redact every string inside JSON-like data (dicts, lists, strings); keys are kept."""
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, dict):
            return {key: self.redact_data(value) for key, value in data.items()}
        if isinstance(data, list | tuple):
            return [self.redact_data(item) for item in data]
        return data

    def redact_file(self, path: Path) -> bool:
        """Redact one text file in place; binary or huge files are left alone. True if changed."""
        try:
            if path.stat().st_size > MAX_EVIDENCE_BYTES:
                return False
            original = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return False
        redacted = self.redact(original)
        if redacted != original:
            path.write_text(redacted, encoding="utf-8")
        return redacted != original

    def redact_tree(self, directory: Path) -> list[Path]:
        """Redact every text file under ``directory``; returns the files that changed."""
        if not directory.is_dir():
            return []
        return [p for p in sorted(directory.rglob("*")) if p.is_file() and not p.is_symlink()
                and self.redact_file(p)]


__all__ = ["MASK", "Redactor"]
