"""Each in-loop attack fails on the one flaw it looks for, and passes on the same API without it.

The stub APIs are a few lines each; the planted-flaw app (``vulnerable_api.py``) covers the same
checks end to end through Schemathesis. Here: the checks that app does not plant.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest

from harness.stages.dast import attack_auth, attack_injection, attack_properties, attack_resources, tokens
from harness.stages.dast.wire import Req, Resp
from tests.harness.stages.dast.stub_api import Call, base, findings, scan_state, spec_of, stub

ME = {"paths": {"/api/me": {"get": {"responses": {"200": {"description": "ok"}}}}}}


def _query_op(path: str, name: str) -> dict[str, Any]:
    param = {"name": name, "in": "query", "required": True, "schema": {"type": "string"}}
    return {"paths": {path: {"get": {"parameters": [param], "responses": {"200": {"description": "ok"}}}}}}


def _checks(tmp_path: Path) -> set[str]:
    return {f["check"] for f in findings(tmp_path)}


def _tamper(tmp_path: Path, behaviour: Any, tokens_: dict[str, str]) -> set[str]:
    with stub(behaviour) as url:
        state = scan_state(tmp_path, url, ME, tokens=tokens_)
        req, resp = base(state, "GET", "/api/me")
        attack_auth.tamper(state, spec_of(ME).operations()[0], req, resp)
        state.close()
    return _checks(tmp_path)


@pytest.mark.parametrize(("prefix_match", "found"), [(True, {"malformed_token"}), (False, set())])
def test_a_token_checked_by_prefix_is_found(tmp_path: Path, prefix_match: bool, found: set[str]) -> None:
    valid = "opaque-token-of-alice-0123456789abcdef"

    def api(call: Call) -> tuple[int, Any]:
        ok = call.token.startswith(valid[:20]) if prefix_match else call.token == valid
        return (200, {"me": "alice"}) if ok else (401, {"error": "unauthorized"})

    assert _tamper(tmp_path, api, {"alice": valid, "bob": "opaque-token-of-bob-000000000000"}) == found


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(claims: dict[str, Any], key: str) -> str:
    head, body = _b64(b'{"alg":"HS256","typ":"JWT"}'), _b64(json.dumps(claims).encode())
    return f"{head}.{body}.{_b64(hmac.new(key.encode(), f'{head}.{body}'.encode(), hashlib.sha256).digest())}"


def _jwt_api(key: str, *, accept_none: bool = False, check_exp: bool = True) -> Any:
    """A stub verifying HS256 JWTs its own way (not with the harness' token code)."""

    def api(call: Call) -> tuple[int, Any]:
        try:
            head, body, signature = call.token.split(".")
            header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
            claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return 401, {"error": "unauthorized"}
        expected = _b64(hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
        signed = header.get("alg") == "HS256" and hmac.compare_digest(signature, expected)
        fresh = not check_exp or claims.get("exp", 0) > time.time()
        if (signed or (accept_none and str(header.get("alg")).lower() == "none")) and fresh:
            return 200, {"me": claims.get("sub")}
        return 401, {"error": "unauthorized"}

    return api


def test_jwt_alg_none_is_found_only_where_accepted(tmp_path: Path) -> None:
    key = "a-long-random-key-nobody-guesses-0123456789"
    users = {n: _jwt({"sub": n, "exp": time.time() + 600}, key) for n in ("alice", "bob")}
    assert _tamper(tmp_path / "a", _jwt_api(key, accept_none=True), users) == {"jwt_alg_none"}
    assert _tamper(tmp_path / "b", _jwt_api(key), users) == set()


def test_weak_secret_and_expired_tokens(tmp_path: Path) -> None:
    users = {n: _jwt({"sub": n, "exp": time.time() + 600}, "changeme") for n in ("alice", "bob")}
    assert _tamper(tmp_path / "a", _jwt_api("changeme", check_exp=False), users) == {
        "jwt_weak_secret",
        "expired_token",
    }
    assert _tamper(tmp_path / "b", _jwt_api("changeme"), users) == {"jwt_weak_secret"}


def test_token_helpers_roundtrip() -> None:
    token = tokens.parse(_jwt({"sub": "alice"}, "secret"))
    assert token is not None and token.alg == "HS256"
    assert tokens.guess_secret(token) == tokens.WEAK_SECRETS.index("secret")
    unsigned = tokens.parse(tokens.alg_none_variants(token)[0])
    assert unsigned is not None and unsigned.alg == "none" and unsigned.signature == b""
    assert all(
        v != _jwt({"sub": "alice"}, "secret") for v in tokens.garbled(_jwt({"sub": "alice"}, "secret"))
    )
    assert tokens.parse("not.a.jwt") is None


def _inject(tmp_path: Path, behaviour: Any, spec: dict[str, Any], **fields: Any) -> set[str]:
    operation = spec_of(spec).operations()[0]
    with stub(behaviour) as url:
        state = scan_state(tmp_path, url, spec)
        req, resp = base(state, operation.method, operation.path, **fields)
        from harness.stages.dast.slots import slots

        for slot in slots(operation, req, state.app.auth_header):
            attack_injection.inject(state, req, resp, slot)
        state.close()
    return _checks(tmp_path)


@pytest.mark.parametrize("evaluating", [True, False])
def test_template_expressions_evaluated_are_found(tmp_path: Path, evaluating: bool) -> None:
    def api(call: Call) -> tuple[int, Any]:
        name = call.query.get("name", "")
        return 200, {"greeting": f"hello {name.replace('{{1337*1337}}', '1787569') if evaluating else name}"}

    found = _inject(tmp_path, api, _query_op("/api/greet", "name"), params={"name": "bob"})
    assert ("template_injection" in found) is evaluating


@pytest.mark.parametrize("shell", [True, False])
def test_shell_arithmetic_coming_back_is_command_injection(tmp_path: Path, shell: bool) -> None:
    def api(call: Call) -> tuple[int, Any]:
        host = call.query.get("host", "")
        output = "h4rn3ss42h4rn3ss" if shell and "echo h4rn3ss$((6*7))h4rn3ss" in host else ""
        return 200, {"ping": f"PING {host}\n{output}"}

    found = _inject(tmp_path, api, _query_op("/api/ping", "host"), params={"host": "localhost"})
    assert ("command_injection" in found) is shell


@pytest.mark.parametrize("injectable", [True, False])
def test_a_true_false_condition_pair_is_sql_injection_without_any_error_text(
    tmp_path: Path, injectable: bool
) -> None:
    spec = {
        "paths": {
            "/api/items/{item}": {
                "get": {
                    "parameters": [
                        {"name": "item", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        }
    }

    def api(call: Call) -> tuple[int, Any]:
        value = call.path.rsplit("/", 1)[-1]
        true = injectable and "%27%20OR%20%271%27%3D%271" in value
        return (200, {"name": "first item"}) if true else (404, {"error": "no such item"})

    assert ("sql_injection" in _inject(tmp_path, api, spec, path_values={"item": "x"})) is injectable


def test_nosql_operator_is_found_and_an_api_ignoring_unknown_keys_is_not(tmp_path: Path) -> None:
    def mongo_like(call: Call) -> tuple[int, Any]:
        cursor = [k for k in call.query if k.startswith("cursor")]
        if "cursor[$ne]" in cursor:
            return 200, {"items": ["everything"]}
        return (400, {"error": "invalid cursor"}) if cursor else (200, {"items": []})

    def ignores_unknown_keys(call: Call) -> tuple[int, Any]:
        return (400, {"error": "invalid cursor"}) if "cursor" in call.query else (200, {"items": []})

    spec = _query_op("/api/list", "cursor")
    assert "nosql_injection" in _inject(tmp_path / "a", mongo_like, spec, params={"cursor": "zz"})
    assert "nosql_injection" not in _inject(
        tmp_path / "b", ignores_unknown_keys, spec, params={"cursor": "zz"}
    )


def test_sleep_payloads_are_timed_and_confirmed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attack_injection, "SLEEP_S", 1.0)

    def api(call: Call) -> tuple[int, Any]:
        if "SLEEP(1)" in call.query.get("q", ""):
            time.sleep(1.0)
        return 200, {"items": []}

    assert "sql_injection" in _inject(tmp_path, api, _query_op("/api/search", "q"), params={"q": "x"})


def _scan(tmp_path: Path, text: str, user: str | None = "bob") -> set[str]:
    state = scan_state(
        tmp_path, "http://127.0.0.1:1", ME, known_secrets={"alice's password": "pw-of-alice-1"}
    )
    attack_properties.scan(state, Req("GET", state.root, "/api/me", user=user), Resp(200, {}, text, 0.01))
    state.close()
    return _checks(tmp_path)


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ('{"username": "alice", "password_hash": "x1"}', {"data_exposure"}),
        ('{"note": "$2b$12$' + "a" * 53 + '"}', {"data_exposure"}),
        ('{"note": "hello tok-alice-0123456789"}', {"data_exposure"}),  # another user's token
        ('{"note": "bob: tok-bob-9876543210"}', set()),  # bob's own token, shown to bob
        ('{"note": "pw-of-alice-1"}', {"data_exposure"}),  # a configured password
        (
            '{"error": "Traceback (most recent call last):\\n  File \\"app.py\\", line 3"}',
            {"error_disclosure"},
        ),
        ('{"error": "near \\"x\\": syntax error"}', {"error_disclosure"}),
        ("<p>Powered by Werkzeug/3.1.9</p>", {"version_disclosure"}),
        ('{"username": "alice", "password": ""}', set()),
    ],
)
def test_passive_scanners(tmp_path: Path, body: str, found: set[str]) -> None:
    assert _scan(tmp_path, body) == found


@pytest.mark.parametrize(("echo", "found"), [(True, {"page_size"}), (False, set())])
def test_page_sizes_echoed_uncapped_are_found(tmp_path: Path, echo: bool, found: set[str]) -> None:
    spec = {
        "paths": {
            "/api/items": {
                "get": {
                    "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        }
    }

    def api(call: Call) -> tuple[int, Any]:
        limit = int(call.query.get("limit", "10"))
        return 200, {"items": [], "limit": limit if echo else min(limit, 100)}

    with stub(api) as url:
        state = scan_state(tmp_path, url, spec)
        req, resp = base(state, "GET", "/api/items", params={"limit": 10})
        attack_resources.page_size(state, spec_of(spec).operations()[0], req, resp)
        state.close()
    assert _checks(tmp_path) == found


def test_the_app_s_own_auth_header_is_never_a_slot() -> None:
    from harness.stages.dast.slots import slots

    params = [{"name": n, "in": "header", "schema": {"type": "string"}}
              for n in ("X-Shop-Token", "X-Trace", "Authorization")]
    get = {"parameters": params, "responses": {"200": {"description": "ok"}}}
    spec = {"paths": {"/api/items": {"get": get}}}
    operation = spec_of(spec).operations()[0]
    req = Req("GET", "http://127.0.0.1:1", "/api/items", headers={"X-Shop-Token": "secret"})
    assert [s.name for s in slots(operation, req, "X-Shop-Token")] == ["X-Trace"]
    # another app's header is an ordinary parameter: the credential set is the profile's, not fixed
    assert [s.name for s in slots(operation, req, "Authorization")] == ["X-Shop-Token", "X-Trace"]
