"""What a response gives away: error signatures, secrets, versions, CORS. Pure functions over text.

The error signatures follow those ZAP's SQL injection and error-disclosure rules and sqlmap's
``errors.xml`` look for (the database's own wording), narrowed to phrases that ordinary API JSON
never contains. Each detector returns short excerpts (the evidence), never the whole body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

EXCERPT = 160

SQL_ERRORS = re.compile(
    "|".join(
        (
            r"sqlite3?\.\w*Error",
        r"OperationalError: (?:unrecognized token|near |no such (?:column|table))",
            r"SQLITE_ERROR",
            r"unrecognized token: \"",
            r"near \"[^\"]{0,40}\": syntax error",
            r"unterminated quoted string",
            r"syntax error at or near",
            r"psycopg2?\.errors\.\w+",
            r"SQLSTATE\[",
            r"pg_query\(\)",
            r"You have an error in your SQL syntax",
            r"mysql_fetch_\w+\(",
            r"MySQLSyntaxErrorException",
            r"ORA-\d{5}",
            r"Microsoft OLE DB Provider for SQL Server",
            r"Unclosed quotation mark after the character string",
            r"SQLServerException",
            r"sqlalchemy\.exc\.\w+",
            r"django\.db\.utils\.\w+",
            r"org\.hibernate\.\w*Exception",
            r"PG::SyntaxError",
            r"quoted string not properly terminated",
        )
    )
)
NOSQL_ERRORS = re.compile(
    r"MongoServerError|MongoError|BSONTypeError|CastError: Cast to|\$where|unknown operator: \$"
)
SHELL_ERRORS = re.compile(
    r"sh: \d+: |/bin/(?:ba)?sh: |: command not found|is not recognized as an internal or "
    r"external command"
)
STACK_TRACES = re.compile(
    "|".join(
        (
            r"Traceback \(most recent call last\)",
            r"File \"[^\"]+\.py\", line \d+",
            r"Werkzeug Debugger",
            r"at [\w$.]+\([\w$]+\.java:\d+\)",
            r"Exception in thread \"",
            r"java\.lang\.\w+(?:Exception|Error)",
            r"\bat \S+ \((?:/|node:)[^)]+:\d+:\d+\)",
            r"System\.\w+Exception:",
            r"Stack trace:",
            r"<b>(?:Fatal|Parse) error</b>:",
            r"Whoops! There was an error",
            r"DEBUG = True",
        )
    )
)
VERSION_BANNER = re.compile(
    r"\b(?:Werkzeug|Flask|Django|Express|PHP|nginx|Apache|Tomcat|Jetty|uvicorn|gunicorn|"
    r"Kestrel|IIS|Spring Boot|Python)/\d+(?:\.\d+)+",
    re.IGNORECASE,
)
HASH_VALUE = re.compile(
    r"^(?:\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}|\$argon2(?:id|i|d)\$\S+|pbkdf2[_:$]\S+|"
    r"\$[156]\$[^$]{1,16}\$[./A-Za-z0-9]{20,}|scrypt[:$]\S+)$"
)
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
# Keys that must never be answered with a value (a token is fine where a login hands it out).
SECRET_KEYS = re.compile(
    r"^(?:password|passwd|pwd|pass|password_?hash|hashed_?password|pw_?hash|secret|"
    r"client_?secret|private_?key|secret_?key|api_?secret|salt|otp_?secret|mfa_?secret)$",
    re.IGNORECASE,
)


def excerpt(text: str, start: int, end: int) -> str:
    """``text[start:end]`` with some context, on one line."""
    left, right = max(start - 40, 0), min(end + 80, len(text))
    return " ".join(text[left:right].split())[:EXCERPT]


def first_match(pattern: re.Pattern[str], text: str) -> str | None:
    """An excerpt around the first match of ``pattern`` in ``text`` (read as a person would), or None."""
    readable = as_read(text)
    found = pattern.search(readable)
    return excerpt(readable, found.start(), found.end()) if found else None


def as_read(text: str) -> str:
    """A body as a person reads it: a JSON body's strings unescaped (an error message in
    ``{"error": "near \\"x\\": syntax error"}`` carries escaped quotes the signatures would miss)."""
    try:
        body = json.loads(text)
    except ValueError:
        return text
    return "\n".join(_strings(body)) if not isinstance(body, str) else body


def _strings(body: Any) -> Iterator[str]:
    if isinstance(body, str):
        yield body
    elif isinstance(body, dict):
        for value in body.values():
            yield from _strings(value)
    elif isinstance(body, list):
        for item in body[:200]:
            yield from _strings(item)


def sql_error(text: str) -> str | None:
    return first_match(SQL_ERRORS, text)


def error_disclosure(text: str) -> str | None:
    """A stack trace, debugger page or database/driver error in a body."""
    return first_match(STACK_TRACES, text) or sql_error(text) or first_match(NOSQL_ERRORS, text)


def version_banner(text: str) -> str | None:
    return first_match(VERSION_BANNER, text)


def secret_fields(body: Any, path: str = "") -> Iterator[str]:
    """Paths in JSON ``body`` holding a non-empty secret-named field, a password hash or a private key."""
    if isinstance(body, Mapping):
        for key, value in body.items():
            where = f"{path}.{key}" if path else str(key)
            if SECRET_KEYS.match(str(key)) and isinstance(value, str | int) and str(value):
                yield f"{where} (secret-named field with a value)"
            else:
                yield from secret_fields(value, where)
    elif isinstance(body, list):
        for index, item in enumerate(body[:200]):
            yield from secret_fields(item, f"{path}[{index}]")
    elif isinstance(body, str):
        if HASH_VALUE.match(body):
            yield f"{path or '<body>'} (password hash)"
        elif PRIVATE_KEY.search(body):
            yield f"{path or '<body>'} (private key)"


def known_secrets_in(text: str, secrets: Mapping[str, str]) -> list[str]:
    """Labels of the known secret values (``{label: value}``) that appear in ``text``."""
    return [label for label, value in secrets.items() if len(value) >= 6 and value in text]


def cors_problem(request_origin: str, headers: Mapping[str, str]) -> str | None:
    """Why a response to ``Origin: request_origin`` lets that origin read it with credentials, or None."""
    allowed = _header(headers, "access-control-allow-origin")
    credentials = (_header(headers, "access-control-allow-credentials") or "").strip().lower() == "true"
    if not allowed or not credentials:
        return None
    if allowed.strip() == "*" or allowed.strip() == request_origin:
        return (
            f"Access-Control-Allow-Origin: {allowed.strip()} with Access-Control-Allow-Credentials: true "
            f"(request Origin: {request_origin})"
        )
    return None


def differs(left: str, right: str, ignore: Iterable[str] = ()) -> bool:
    """Whether two bodies differ once the given strings (e.g. the usernames we sent) are blanked."""
    for value in ignore:
        if value:
            left, right = left.replace(value, "<v>"), right.replace(value, "<v>")
    return _normalise(left) != _normalise(right)


_VOLATILE = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|"
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?\b|"
    r"\"request_id\"\s*:\s*\"[^\"]*\"",
    re.IGNORECASE,
)


def _normalise(text: str) -> str:
    """Request ids, UUIDs and timestamps differ between any two answers: they say nothing."""
    return _VOLATILE.sub("<x>", text).strip()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


__all__ = [
    "NOSQL_ERRORS",
    "SHELL_ERRORS",
    "SQL_ERRORS",
    "as_read",
    "cors_problem",
    "differs",
    "error_disclosure",
    "excerpt",
    "first_match",
    "known_secrets_in",
    "secret_fields",
    "sql_error",
    "version_banner",
]
