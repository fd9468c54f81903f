"""Parse ``--target`` specs: ``local``, ``existing:PATH``, ``kind://harness?reuse=1``, ``aws://staging``."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from harness.errors import ConfigError


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """A parsed target spec: the registered ``name``, an optional ``location`` and ``options``."""

    name: str
    location: str = ""
    options: dict[str, str] = field(default_factory=dict)

    def flag(self, key: str, default: bool = False) -> bool:
        """An option read as a boolean (``1``, ``true``, ``yes``, ``on``)."""
        value = self.options.get(key)
        return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}

    def __str__(self) -> str:
        text = self.name if not self.location else f"{self.name}:{self.location}"
        if self.options:
            text += "?" + "&".join(f"{k}={v}" for k, v in self.options.items())
        return text


def parse_spec(spec: str) -> TargetSpec:
    """``name``, ``name:location`` or ``name://location?k=v``; the name is case-insensitive."""
    text = spec.strip()
    if not text:
        raise ConfigError("--target: empty target spec")
    if "://" in text:
        return _parse_url(text)
    head, _, query = text.partition("?")
    name, _, location = head.partition(":")
    return TargetSpec(_check_name(name, spec), location, _options(query, spec))


def _parse_url(text: str) -> TargetSpec:
    parts = urlsplit(text)
    location = (parts.netloc + parts.path).strip("/") if parts.netloc else parts.path
    return TargetSpec(_check_name(parts.scheme, text), location, _options(parts.query, text))


def _options(query: str, spec: str) -> dict[str, str]:
    try:
        return dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError as exc:
        raise ConfigError(f"--target {spec!r}: bad options {query!r} ({exc})") from None


def _check_name(name: str, spec: str) -> str:
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"--target {spec!r}: expected NAME, NAME:LOCATION or NAME://LOCATION?OPTIONS")
    return name.lower()


__all__ = ["TargetSpec", "parse_spec"]
