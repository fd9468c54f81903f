"""The login hook: how a foreign API's test users get (and refresh) their tokens.

```toml
[dast.login]
operation = "POST /api/login"        # the login operation, relative to the API URL
username_field = "username"          # JSON body fields
password_field = "password"
token_path = "/token"                # JSON Pointer (RFC 6901) into the response body
refresh_s = 300                      # Schemathesis logs in again after this many seconds
[[dast.login.users]]
name = "alice"                       # a user of the environment file (its token is replaced) or a new one
username = "alice"
password_env = "DAST_ALICE_PASSWORD" # passwords come from the environment, never from a file in the repo
```

Schemathesis receives the same login as Web Fuzzing Commons ``loginEndpointAuth`` entries (it logs
in itself and refreshes every ``refresh_s``); the harness' own requests log in through
:func:`login` and again when a token is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from harness.app_profile import AppProfile
from harness.errors import ConfigError, StageError

WHERE = "[dast.login]"


@dataclass(frozen=True, slots=True)
class LoginUser:
    name: str
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class LoginConfig:
    method: str
    path: str
    username_field: str
    password_field: str
    token_path: str
    refresh_s: int
    users: tuple[LoginUser, ...]

    @classmethod
    def parse(cls, section: Any, environ: dict[str, str] | None = None) -> LoginConfig | None:
        """The ``[dast.login]`` table (its keys and types checked by the config schema), or None when
        absent; errors name the key."""
        if section is None:
            return None
        method, _, path = str(section.get("operation", "")).partition(" ")
        if not method.isalpha() or not path.startswith("/"):
            raise ConfigError(f"{WHERE} operation: expected 'METHOD /path', got {section.get('operation')!r}")
        token_path = str(section.get("token_path", "/token"))
        if not token_path.startswith("/"):
            raise ConfigError(f"{WHERE} token_path: a JSON Pointer starts with '/', got {token_path!r}")
        users = tuple(
            _user(u, i, environ if environ is not None else dict(os.environ))
            for i, u in enumerate(section.get("users", []))
        )
        return cls(
            method.upper(),
            path,
            str(section.get("username_field", "username")),
            str(section.get("password_field", "password")),
            token_path,
            int(section.get("refresh_s", 300)),
            users,
        )

    def wfc_entry(self, api_url: str, user: LoginUser, app: AppProfile) -> dict[str, Any]:
        """The Web Fuzzing Commons auth entry Schemathesis logs in with (schemathesis/wfc/loader.py);
        the token is sent in ``app``'s auth header."""
        return {
            "name": user.name,
            "loginEndpointAuth": {
                "verb": self.method,
                "endpoint": urlsplit(api_url).path.rstrip("/") + self.path,
                "contentType": "application/json",
                "payloadUserPwd": {
                    "username": user.username,
                    "password": user.password,
                    "usernameField": self.username_field,
                    "passwordField": self.password_field,
                },
                "token": {
                    "extractFrom": "body",
                    "extractSelector": self.token_path,
                    "sendIn": "header",
                    "sendName": app.auth_header,
                    "sendTemplate": app.auth_value("{token}"),
                },
            },
        }


def _user(data: Any, index: int, environ: dict[str, str]) -> LoginUser:
    where = f"{WHERE} users[{index}]"
    variable = str(data["password_env"])
    if not environ.get(variable):
        raise ConfigError(f"{where}: environment variable {variable} (the password) is not set")
    return LoginUser(str(data["name"]), str(data.get("username") or data["name"]), environ[variable])


def login(http: httpx.Client, api_url: str, config: LoginConfig, user: LoginUser) -> str:
    """Log ``user`` in and return the token; :class:`StageError` says why it could not."""
    url = api_url.rstrip("/") + config.path
    body = {config.username_field: user.username, config.password_field: user.password}
    try:
        response = http.request(config.method, url, json=body)
    except httpx.HTTPError as exc:
        raise StageError(f"{WHERE}: login as {user.name} failed: {type(exc).__name__}: {exc}") from None
    if response.status_code not in (200, 201):
        raise StageError(
            f"{WHERE}: login as {user.name} answered {response.status_code} ({config.method} {config.path})"
        )
    try:
        token = pointer(response.json(), config.token_path)
    except (ValueError, KeyError, IndexError, TypeError):
        raise StageError(
            f"{WHERE}: no token at {config.token_path} in the login response for {user.name}"
        ) from None
    if not isinstance(token, str) or not token:
        raise StageError(f"{WHERE}: the value at {config.token_path} for {user.name} is not a token")
    return token


def pointer(document: Any, path: str) -> Any:
    """Resolve a JSON Pointer (RFC 6901)."""
    node = document
    for raw in path.lstrip("/").split("/") if path.strip("/") else []:
        key = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


__all__ = ["LoginConfig", "LoginUser", "login", "pointer"]
