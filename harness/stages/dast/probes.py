"""The stage's own probes around the Schemathesis run, driven by the OpenAPI document.

- ``undocumented_route`` (API9): common debug/admin/actuator paths; one that answers 2xx and is not
  in the document is a finding (its body also goes through the passive scanners: a debug page that
  lists passwords is a ``data_exposure`` too);
- ``cors_credentials`` (API8): documented GETs with a foreign ``Origin``;
- ``credentials_in_url`` (API2): read from the document itself;
- ``user_enumeration`` (API2): login/reset operations answered for an existing and an unknown user;
- ``rate_limit`` (API4): a bounded burst of failed logins (and of configured expensive operations).
Nothing here knows the reference app: every path comes from the document, the word lists below,
or ``[dast]`` configuration.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

from harness.stages.dast import signatures
from harness.stages.dast.headers import SeenResponse
from harness.stages.dast.scan_state import ScanState
from harness.stages.dast.spec import ApiSpec, Operation, example_value
from harness.stages.dast.wire import OutOfBudget, Req, Resp

UNDOCUMENTED_PATHS = (
    "/debug", "/debug/users", "/debug/vars", "/debug/pprof/", "/debug/config", "/_debug", "/__debug__/",
    "/admin", "/admin/users", "/api/admin", "/api/debug", "/api/debug/users", "/internal", "/api/internal",
    "/actuator", "/actuator/env", "/actuator/mappings", "/actuator/heapdump", "/console", "/h2-console",
    "/.env", "/config", "/api/config", "/env", "/server-status", "/phpinfo.php", "/trace", "/dump",
    "/users/all", "/api/users/all", "/backup", "/test", "/api/test",
)
FOREIGN_ORIGIN = "https://harness-cors-probe.example"
SECRET_QUERY = re.compile(
    r"^(?:token|access_?token|id_?token|api_?key|apikey|key|password|passwd|secret|"
    r"session|sessionid|auth|jwt)$",
    re.IGNORECASE,
)
LOGIN_PATH = re.compile(
    r"(?:^|/)(?:login|log-in|signin|sign-in|sign_in|token|auth|authenticate|session|sessions|"
    r"password[-_/]?reset|reset[-_]?password|forgot[-_]?password|forgot)(?:/|$)",
    re.IGNORECASE,
)
USER_FIELD = re.compile(r"^(?:username|user_?name|user|login|email|e-?mail|handle)$", re.IGNORECASE)
PASSWORD_FIELD = re.compile(r"^(?:password|passwd|pass|pwd)$", re.IGNORECASE)
THROTTLED = (429, 503)


def inventory(state: ScanState, spec: ApiSpec) -> None:
    """GET each well-known debug/admin path the document does not list; 2xx is a finding."""
    state.attempt("undocumented_route")
    for path in UNDOCUMENTED_PATHS:
        if spec.documented("GET", path) or spec.exclusions.blocks("GET", path):
            continue
        for user in (state.names[0] if state.names else None, None):
            req = state.as_user(Req("GET", state.config.api_url, path), user)
            resp = state.send(req)
            if resp.ok:
                state.record(
                    "undocumented_route",
                    req,
                    resp,
                    f"GET {path} is not in the OpenAPI document and "
                    f"answers {resp.status} ({len(resp.text)} bytes)",
                    users=[user],
                )
                break


def get_operations(spec: ApiSpec, limit: int = 6) -> list[Operation]:
    """Documented GETs that need no path parameter (what a probe can call as is)."""
    return [o for o in spec.operations() if o.method == "GET" and not o.params("path")][:limit]


def sample_headers(state: ScanState, spec: ApiSpec, api_url: str, samples: int) -> list[SeenResponse]:
    """A few GETs, anonymous and as the main user, so the header check always has input."""
    seen = []
    targets = [(api_url, "/"), *((state.root, o.path) for o in get_operations(spec, samples))]
    for root, path in targets:
        for user in (None, state.names[0] if state.names else None):
            try:
                resp = state.send(state.as_user(Req("GET", root, path), user))
            except (OutOfBudget, ValueError):
                continue
            seen.append(SeenResponse("GET", root + path, resp.status, resp.headers))
    return seen


def cors(state: ScanState, spec: ApiSpec) -> None:
    state.attempt("cors_credentials")
    for operation in get_operations(spec):
        req = state.as_user(
            Req("GET", state.root, operation.path, headers={"Origin": FOREIGN_ORIGIN}),
            state.names[0] if state.names else None,
        )
        resp = state.send(req)
        problem = signatures.cors_problem(FOREIGN_ORIGIN, resp.headers)
        if problem:
            state.record("cors_credentials", req, resp, problem, users=[req.user])
            return


def credentials_in_url(state: ScanState, spec: ApiSpec) -> None:
    """apiKey schemes in the query, and secret-named query parameters, as the document declares them."""
    state.attempt("credentials_in_url")
    schemes = spec.document.get("components", {}).get("securitySchemes", {})
    for name, scheme in schemes.items() if isinstance(schemes, dict) else []:
        if isinstance(scheme, dict) and scheme.get("type") == "apiKey" and scheme.get("in") == "query":
            state.record_static(
                "credentials_in_url",
                f"securitySchemes.{name}",
                spec.source,
                f"security scheme {name!r} sends the key in the query parameter {scheme.get('name')!r}",
            )
    for operation in spec.operations():
        for param in operation.params("query"):
            if SECRET_QUERY.match(str(param.get("name", ""))):
                state.record_static(
                    "credentials_in_url",
                    operation.label,
                    state.root + operation.path,
                    f"{operation.label} takes the secret-named query parameter {param['name']!r}",
                )


def login_operations(spec: ApiSpec, *, with_password: bool) -> Iterator[tuple[Operation, str, str | None]]:
    """(operation, user field, password field) for login/reset-like POSTs with a JSON body."""
    for operation in spec.operations():
        properties = spec.resolve(operation.body_schema or {}).get("properties", {})
        if (
            operation.method != "POST"
            or not LOGIN_PATH.search(operation.path)
            or not isinstance(properties, dict)
        ):
            continue
        user = next((k for k in properties if USER_FIELD.match(k)), None)
        password = next((k for k in properties if PASSWORD_FIELD.match(k)), None)
        if user and (password or not with_password):
            yield operation, user, password


def _attempt(
    state: ScanState, spec: ApiSpec, operation: Operation, fields: tuple[str, str | None], username: str
) -> tuple[Req, Resp]:
    body: dict[str, Any] = example_value(spec.resolve(operation.body_schema or {}))
    user_field, password_field = fields
    body = {**(body if isinstance(body, dict) else {}), user_field: username}
    if password_field:
        body[password_field] = "Wrong-" + secrets.token_hex(6)
    req = Req("POST", state.root, operation.path, json=body, has_json=True)
    return req, state.send(req)


def user_enumeration(state: ScanState, spec: ApiSpec, known: list[str]) -> None:
    """An existing and an unknown user, wrong password each, twice: the answers must not differ."""
    for operation, user_field, password_field in login_operations(spec, with_password=False):
        existing = next((k for k in known if ("@" in k) == ("mail" in user_field.lower())), None)
        if existing is None or not state.claim("user_enumeration", operation.label):
            continue
        state.attempt("user_enumeration")
        unknown = f"nobody{secrets.token_hex(4)}" + ("@example.com" if "@" in existing else "")
        fields = (user_field, password_field)
        rounds = [
            (
                _attempt(state, spec, operation, fields, existing),
                _attempt(state, spec, operation, fields, unknown),
            )
            for _ in range(2)
        ]
        if all(_tells_apart(a[1], b[1], (existing, unknown)) for a, b in rounds):
            (req, resp), (_, uresp) = rounds[0]
            state.record(
                "user_enumeration",
                req,
                resp,
                f"{operation.label}: a wrong password for an existing "
                f"user answers {resp.status} {resp.text[:80]!r}; for an unknown user {uresp.status} "
                f"{uresp.text[:80]!r} (twice)",
                users=[existing],
            )


def _tells_apart(left: Resp, right: Resp, names: tuple[str, ...]) -> bool:
    if left.status in THROTTLED or right.status in THROTTLED:
        return False  # throttled: the answers say nothing about the users
    return left.status != right.status or signatures.differs(left.text, right.text, names)


def rate_limit(state: ScanState, spec: ApiSpec, burst: int, expensive: list[tuple[str, str]]) -> None:
    """A burst of ``burst`` failed logins per login operation (and per configured expensive operation)."""
    targets: list[tuple[Operation, tuple[str, str | None] | None]] = [
        (o, (u, p)) for o, u, p in login_operations(spec, with_password=True)
    ]
    targets += [(o, None) for o in spec.operations() if (o.method, o.path) in expensive
                and not o.params("path")]
    for operation, fields in targets:
        state.attempt("rate_limit")
        username = f"nobody{secrets.token_hex(4)}"
        last: tuple[Req, Resp] | None = None
        for _ in range(burst):
            last = (
                _attempt(state, spec, operation, fields, username)
                if fields
                else _expensive(state, spec, operation)
            )
            if last[1].status in THROTTLED:
                break
        if last is not None and last[1].status not in THROTTLED:
            cap = f" at most {state.config.rate_per_s:g}/s (the rate cap)" if state.config.rate_per_s else ""
            state.record(
                "rate_limit",
                last[0],
                last[1],
                f"{burst} requests to {operation.label} in a burst{cap}: "
                f"none was answered 429 or 503 (last: {last[1].status})",
            )


def _expensive(state: ScanState, spec: ApiSpec, operation: Operation) -> tuple[Req, Resp]:
    body = example_value(spec.resolve(operation.body_schema)) if operation.body_schema else None
    req = state.as_user(
        Req(operation.method, state.root, operation.path, json=body, has_json=body is not None),
        state.names[0] if state.names else None,
    )
    return req, state.send(req)


__all__ = [
    "UNDOCUMENTED_PATHS",
    "cors",
    "credentials_in_url",
    "get_operations",
    "inventory",
    "login_operations",
    "rate_limit",
    "sample_headers",
    "user_enumeration",
]
