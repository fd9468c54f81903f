"""Does an endpoint answer? One bounded HTTP probe, shared by every target's preflight."""

from __future__ import annotations

import httpx

from harness.errors import TargetError

PROBE_TIMEOUT_S = 3.0


def probe(url: str, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Raise a TargetError unless ``url`` answers HTTP (any status) within ``timeout_s``.

    One bounded GET, no redirects followed and no proxy from the environment (a loopback URL must
    not be sent to an HTTP proxy), so a dead endpoint costs at most ``timeout_s``.
    """
    try:
        with httpx.Client(trust_env=False, follow_redirects=False, timeout=timeout_s) as client:
            client.get(url)
    except httpx.HTTPError as exc:
        raise TargetError(f"{url} does not answer ({type(exc).__name__}: {exc or 'no response'}, "
                          f"waited {timeout_s:g}s)") from None


__all__ = ["PROBE_TIMEOUT_S", "probe"]
