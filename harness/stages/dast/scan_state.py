"""What the harness' checks share: users and tokens, budget, ownership ledger, claims, findings.

Two instances per scan: one in the Schemathesis process for the in-loop checks (the stage writes a
:class:`ScanConfig` as JSON, mode 0600, in a private temporary directory, and names it in
``HARNESS_DAST_SCAN``), one in the stage for its own probes. Both write findings to JSON-lines files
the stage reads afterwards. The in-loop checks never fail Schemathesis' own test (Hypothesis would
replay and shrink a case whose probes we sent once, and call it flaky): the stage judges findings
with the rules file, as it judges everything else.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness.app_profile import AppProfile
from harness.redact import Redactor
from harness.stages.dast.login import LoginConfig, LoginUser, login
from harness.stages.dast.spec import ApiSpec, Exclusions
from harness.stages.dast.wire import Prober, Req, Resp, exchange, write_private

ENV_VAR = "HARNESS_DAST_SCAN"


@dataclass(slots=True)
class ScanConfig:
    """Everything the in-loop checks need; written by the stage, read in the Schemathesis process."""

    api_url: str
    findings_path: str
    spec_path: str  # the filtered OpenAPI document Schemathesis tests
    users: list[dict[str, str]]  # [{"name", "token", "username"?}]: Schemathesis sends as users[0]
    checks: list[str]  # harness check names enabled in this run
    base_path: str = ""
    exclusions: list[list[str]] = field(default_factory=list)
    probe_budget: int = 1000
    total_budget: int = 0  # every request incl. Schemathesis' own; 0 = no cap
    rate_per_s: float | None = None
    request_timeout_s: float = 10.0
    slow_response_s: float = 1.0
    max_page_items: int = 1000
    ssrf_base: str | None = None
    known_secrets: dict[str, str] = field(default_factory=dict)  # label -> value (passwords)
    login: dict[str, Any] | None = None
    seed: int = 0
    auth_header: str = "Authorization"  # from the app profile (scenarios/app.yaml `auth`)
    auth_scheme: str = "Bearer"

    def write(self, path: Path) -> None:
        write_private(path, json.dumps(asdict(self)))

    @classmethod
    def read(cls, path: Path) -> ScanConfig:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


class ScanState:
    """Shared by every check in the Schemathesis process (checks run on worker threads)."""

    def __init__(self, config: ScanConfig) -> None:
        self.config = config
        self.app = AppProfile(auth_header=config.auth_header, auth_scheme=config.auth_scheme)
        self.tokens = {u["name"]: u["token"] for u in config.users}
        self.names = [u["name"] for u in config.users]
        self.spec = ApiSpec(
            json.loads(Path(config.spec_path).read_text(encoding="utf-8")), config.spec_path, config.base_path
        )
        self.operations = {op.label: op for op in self.spec.operations()}
        self.root = config.api_url.rstrip("/") + config.base_path
        self.prober = Prober(
            config.api_url,
            exclusions=Exclusions(tuple((m, p) for m, p in config.exclusions)),
            base_path=config.base_path,
            max_requests=config.probe_budget,
            rate_per_s=config.rate_per_s,
            timeout_s=config.request_timeout_s,
        )
        # Per user, the identifiers its answers carried, oldest first (a dict keeps insertion order).
        self.ledger: dict[str, dict[str, None]] = {
            u["name"]: dict.fromkeys([u["name"], u.get("username") or u["name"]]) for u in config.users
        }
        self.tried: Counter[str] = Counter()
        self.spent: dict[str, float] = {}  # seconds per in-loop check class
        self.seen_requests = 0
        self.observe: Callable[[Req, Resp], None] | None = None
        self._claims: set[tuple[str, ...]] = set()
        self._lock = threading.Lock()
        self._out = open(config.findings_path, "a", encoding="utf-8")  # noqa: SIM115 - closed at exit
        self._login = _login_config(config.login)
        # This runs inside Schemathesis' process: its own redactor, for what it writes there.
        self.redactor = Redactor()
        self.redactor.register(*self.tokens.values(), *config.known_secrets.values())
        self._logged_in_at = time.monotonic()

    # -- who is who ------------------------------------------------------------------------------
    def identity(self, headers: dict[str, str]) -> str | None:
        """The test user whose token a request carried, or None."""
        value = next((v for k, v in headers.items() if k.lower() == self.app.auth_header.lower()), "")
        return next((name for name, token in self.tokens.items() if token and token in value), None)

    def as_user(self, req: Req, name: str | None) -> Req:
        """``req`` sent as ``name`` (None: without credentials)."""
        return self.with_token(req, None if name is None else self.token(name)).copy(user=name)

    def with_token(self, req: Req, token: str | None) -> Req:
        """``req`` with ``token`` in the app's auth header (None: without one)."""
        headers = {k: v for k, v in req.headers.items() if k.lower() != self.app.auth_header.lower()}
        return req.copy(headers={**headers, **(self.app.auth(token) if token is not None else {})})

    def token(self, name: str) -> str:
        if self._login and time.monotonic() - self._logged_in_at > self._login.refresh_s:
            self._relogin()
        return self.tokens[name]

    def peer_of(self, name: str | None) -> str | None:
        others = [n for n in self.names if n != name]
        return others[0] if others else None

    def enabled(self, check: str) -> bool:
        return check in self.config.checks

    # -- bookkeeping -----------------------------------------------------------------------------
    def claim(self, *key: str) -> bool:
        """True the first time ``key`` is claimed in this run (each probe is sent once)."""
        with self._lock:
            if key in self._claims:
                return False
            self._claims.add(key)
            return True

    def room(self, *key: str, instances: int) -> bool:
        """True for the first ``instances`` times ``key`` is asked about (a cap per operation)."""
        return any(self.claim(*key, str(i)) for i in range(instances))

    def claims_of(self, first: str) -> list[tuple[str, ...]]:
        with self._lock:
            return [key for key in self._claims if key[0] == first]

    def own(self, name: str, values: Iterable[str]) -> None:
        with self._lock:
            mine = self.ledger.setdefault(name, {})
            for value in values:
                mine.pop(value, None)  # seen again: now the newest
                mine[value] = None

    def owned_only_by(self, owner: str) -> list[str]:
        """Identifiers seen in ``owner``'s answers and in no other user's (newest last)."""
        with self._lock:
            others = {v for name, values in self.ledger.items() if name != owner for v in values}
            return [v for v in self.ledger.get(owner, {}) if v not in others]

    def spend(self, name: str, seconds: float) -> None:
        with self._lock:
            self.spent[name] = self.spent.get(name, 0.0) + seconds

    def attempt(self, *checks: str) -> None:
        """Count one attempt of each of ``checks`` that this run enables."""
        with self._lock:
            self.tried.update(c for c in checks if self.enabled(c))

    def send(self, req: Req, *, timeout_s: float | None = None) -> Resp:
        """Send through the prober; the passive scanners see our own answers too."""
        resp = self.prober.send(req, timeout_s=timeout_s)
        if self.observe is not None:
            self.observe(req, resp)
        return resp

    def record(self, check: str, req: Req, resp: Resp, detail: str, *, users: Iterable[str | None] = (),
               extra: dict[str, Any] | None = None) -> None:
        """One finding, with its exchange as evidence (tokens named by owner)."""
        request, response = exchange(req, resp, self.tokens)
        self.note("finding", **{"check": check, "label": req.label, "url": req.url, "detail": detail,
                                "users": [u for u in users if u], "request": request, "response": response,
                                **(extra or {})})

    def record_static(self, check: str, label: str, url: str, detail: str) -> None:
        """A finding read from the document rather than from an exchange."""
        self.note("finding", check=check, label=label, url=url, detail=detail, users=[], request="",
                  response="")

    def note(self, kind: str, **data: Any) -> None:
        self._write({"kind": kind, **data})

    def close(self) -> None:
        self.note("stats", tried=dict(self.tried), probe_requests=self.prober.sent,
                  seen_requests=self.seen_requests, spent_s={k: round(v, 2) for k, v in self.spent.items()})
        self._out.close()
        self.prober.close()

    def _write(self, data: dict[str, Any]) -> None:
        # Redacted as data (a JSON line escapes quotes, which text patterns would miss); a "replay"
        # keeps the structure sqlmap needs, and its tokens are already labels.
        line = json.dumps(self.redactor.redact_data(data), default=str)
        with self._lock:
            if not self._out.closed:
                self._out.write(line + "\n")
                self._out.flush()

    def _relogin(self) -> None:
        assert self._login is not None
        with httpx.Client(timeout=self.config.request_timeout_s) as http:
            for user in self._login.users:
                self.tokens[user.name] = login(http, self.config.api_url, self._login, user)
        self._logged_in_at = time.monotonic()


def _login_config(data: dict[str, Any] | None) -> LoginConfig | None:
    if not data:
        return None
    users = tuple(LoginUser(**u) for u in data["users"])
    return LoginConfig(**{**data, "users": users})


__all__ = ["ENV_VAR", "ScanConfig", "ScanState"]
