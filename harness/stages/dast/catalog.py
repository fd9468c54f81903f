"""The harness' own API checks: one named check per attack, each with a rule id and a result id.

The OWASP API Security Top 10 (2023, https://owasp.org/API-Security/editions/2023/en/0x11-t10/)
numbers the risks; every check names the risk it tests (``API1`` ... ``API9``), so that a reviewer
reads "API1: another user's object can be changed" rather than a tool's internal code.

``where`` says how a check runs: ``loop`` checks are Schemathesis checks (``loop_hooks.py``) that
run on every response Schemathesis gets, inside its generation loop; ``probe`` checks are requests
the stage sends itself around that run (``probes.py``). ``active`` checks send crafted input and
only run in active mode; ``peers`` checks need two users.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.results import Severity

RULE_PREFIX = "harness:"


@dataclass(frozen=True, slots=True)
class ApiCheck:
    """One of the harness' own checks. ``observes`` is what makes it fail (never a re-derivation)."""

    name: str
    risk: str  # "API1" ... "API10" or "INJ" for injection (OWASP Top 10 2021 A03)
    title: str
    severity: Severity
    cwe: str
    observes: str
    remediation: str
    where: str = "loop"
    active: bool = True
    peers: bool = False

    @property
    def rule_id(self) -> str:
        return RULE_PREFIX + self.name

    @property
    def result_id(self) -> str:
        return f"DAST-{self.risk}-{self.name.replace('_', '-')}"

    @property
    def controls(self) -> list[str]:
        owasp = [f"OWASP-{self.risk}"] if self.risk.startswith("API") else ["OWASP-A03"]
        return [*owasp, self.cwe]


_H, _M, _L, _C = Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.CRITICAL
CHECKS: tuple[ApiCheck, ...] = (
    ApiCheck(
        "bola_read", "API1", "Another user's object can be read", _H, "CWE-639",
        "user B gets 2xx and user A's object for a path naming an identifier only A's responses held, "
        "while an anonymous request is refused",
        "Check the caller owns the object on every read.", peers=True,
    ),
    ApiCheck(
        "bola_write", "API1", "Another user's object can be changed or deleted", _C, "CWE-639",
        "user B's PUT/PATCH/DELETE on a path naming an identifier only A's responses held is answered 2xx",
        "Check the caller owns the object on every write.", peers=True,
    ),
    ApiCheck(
        "malformed_token", "API2", "A malformed bearer token is accepted", _C, "CWE-287",
        "a request whose token was truncated or garbled gets 2xx where no token gets 401/403",
        "Verify the token's signature and structure before trusting it.",
    ),
    ApiCheck(
        "jwt_alg_none", "API2", "A JWT with alg 'none' is accepted", _C, "CWE-347",
        "the user's JWT re-encoded with alg 'none' and no signature gets 2xx",
        "Pin the accepted algorithms when verifying JWTs; never accept 'none'.",
    ),
    ApiCheck(
        "jwt_weak_secret", "API2", "JWTs are signed with a guessable secret", _C, "CWE-521",
        "the user's HS* JWT verifies under a secret from a list of common ones, and a token forged with "
        "it gets 2xx",
        "Sign tokens with a random key of at least 256 bits, kept in a secret store.",
    ),
    ApiCheck(
        "expired_token", "API2", "An expired JWT is accepted", _H, "CWE-613",
        "a token we could sign (weak secret) with exp one hour in the past gets 2xx",
        "Reject tokens whose exp is in the past.",
    ),
    ApiCheck(
        "credentials_in_url", "API2", "Credentials travel in URLs", _M, "CWE-598",
        "the OpenAPI document declares an apiKey in the query, or a query parameter named like a "
        "secret (token, password, api_key)",
        "Send credentials in the Authorization header.", where="probe", active=False,
    ),
    ApiCheck(
        "mass_assignment", "API3", "Privileged properties are accepted from the client", _H, "CWE-915",
        "a create/update sent with admin/role/owner/verified fields reads back with the values we sent",
        "Bind request bodies to an allowlist of writable fields.",
    ),
    ApiCheck(
        "data_exposure", "API3", "Responses expose secrets or other users' data", _H, "CWE-200",
        "a response carries a password/secret field, a password hash, a private key, another user's "
        "token or a configured user's password",
        "Return only the fields the caller needs; never passwords or hashes.", active=False,
    ),
    ApiCheck(
        "rate_limit", "API4", "No rate limiting on authentication", _M, "CWE-307",
        "a bounded burst of failed logins (and of configured expensive operations) is never answered "
        "429 or 503",
        "Throttle failed logins per account and per client; answer 429 with Retry-After.", where="probe",
    ),
    ApiCheck(
        "page_size", "API4", "Page sizes are not capped", _M, "CWE-770",
        "a list operation asked for 100000 items answers 2xx echoing that size or returning more "
        "items than the cap",
        "Cap page sizes on the server and reject larger ones.",
    ),
    ApiCheck(
        "slow_input", "API4", "Crafted input makes responses slow (ReDoS)", _M, "CWE-1333",
        "a string input of the form 'aaaa…!' is answered slower than the response-time budget and "
        "ten times slower than the same operation's ordinary input",
        "Use linear-time regular expressions and bound input length before matching.",
    ),
    ApiCheck(
        "function_level", "API5", "A regular user can call admin operations", _H, "CWE-285",
        "an operation whose path or tags say admin/internal answers a test user (not an admin) 2xx",
        "Check the caller's role on every privileged operation.", active=False,
    ),
    ApiCheck(
        "ssrf", "API7", "The server fetches URLs the client chooses", _H, "CWE-918",
        "a loopback listener owned by the harness receives the request whose nonce we put in a "
        "URL-typed input",
        "Allowlist the hosts the server may fetch; never fetch client URLs as-is.",
    ),
    ApiCheck(
        "error_disclosure", "API8", "Errors disclose stack traces or SQL", _M, "CWE-209",
        "a response body contains a stack trace, a debugger page or a database error message",
        "Log the details; answer a generic error with a request id.", active=False,
    ),
    ApiCheck(
        "version_disclosure", "API8", "Responses disclose framework versions", _L, "CWE-497",
        "a response body names a server or framework with its version (e.g. Werkzeug/3.1)",
        "Remove version banners from error pages and bodies.", active=False,
    ),
    ApiCheck(
        "cors_credentials", "API8", "CORS lets any origin read authenticated responses", _H, "CWE-942",
        "a request with a foreign Origin gets Access-Control-Allow-Origin '*' or that origin, with "
        "Access-Control-Allow-Credentials: true",
        "Allow only known origins; never reflect Origin with credentials.", where="probe", active=False,
    ),
    ApiCheck(
        "undocumented_route", "API9", "Undocumented debug/admin routes answer", _M, "CWE-1059",
        "a GET to a common debug/admin/actuator path the OpenAPI document does not list answers 2xx",
        "Remove debug routes from production builds; document every route.", where="probe", active=False,
    ),
    ApiCheck(
        "user_enumeration", "API2", "Login answers reveal which users exist", _M, "CWE-204",
        "a wrong password for an existing user and for an unknown user get different statuses or "
        "bodies (twice in a row)",
        "Answer every failed login (and reset) the same way.", where="probe",
    ),
    ApiCheck(
        "sql_injection", "INJ", "SQL injection", _C, "CWE-89",
        "a quote makes the response carry a database error, or a true/false condition pair changes "
        "the answer (twice), or a sleep payload delays it",
        "Use parameterised queries.",
    ),
    ApiCheck(
        "nosql_injection", "INJ", "NoSQL injection", _C, "CWE-943",
        "an operator object ($ne) in place of a string turns a refusal into 2xx, or a MongoDB error appears",
        "Validate types before building queries; reject operator objects.",
    ),
    ApiCheck(
        "command_injection", "INJ", "OS command injection", _C, "CWE-78",
        "a shell payload's arithmetic comes back in the response, or a sleep payload delays it",
        "Never pass input to a shell; use argument vectors.",
    ),
    ApiCheck(
        "template_injection", "INJ", "Server-side template injection", _C, "CWE-1336",
        "a template expression {{1337*1337}} (and variants) comes back evaluated as 1787569",
        "Never render user input as a template.",
    ),
)
BY_NAME = {check.name: check for check in CHECKS}


def check(name: str) -> ApiCheck:
    """The check called ``name`` (a KeyError names a programming mistake, not a user's)."""
    return BY_NAME[name]


__all__ = ["BY_NAME", "CHECKS", "RULE_PREFIX", "ApiCheck", "check"]
