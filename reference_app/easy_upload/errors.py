"""The app's error tree; every API error leaves as ``{"error": {"code", "message"}}``.

AppError
 +-- ConfigError            settings that cannot work (startup)
 +-- HttpError              an answer to a client: status + machine code
 |    +-- Unauthorized (401), NotFound (404), PayloadTooLarge (413), UnsupportedType (415),
 |        BadRequest (400), RequestTimeout (408), TooManyRequests (429), HeadersTooLarge (431),
 |        ServiceUnavailable (503)
 +-- ProcessingError        a file the worker cannot process (ends `failed`, never retried)
"""

from __future__ import annotations


class AppError(Exception):
    """Root of every error the app raises on purpose."""


class ConfigError(AppError):
    """A setting is missing or malformed."""


class ProcessingError(AppError):
    """The file cannot be processed; the job ends `failed` with this message as reason."""


class HttpError(AppError):
    """An error answered to the client with ``status`` and a stable ``code``."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}

    def body(self, request_id: str | None = None) -> dict[str, object]:
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if request_id:
            error["request_id"] = request_id
        return {"error": error}


class BadRequest(HttpError):
    status, code = 400, "bad_request"


class Unauthorized(HttpError):
    status, code = 401, "unauthorized"

    def __init__(self, message: str = "missing or invalid bearer token") -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="easy-upload"'})


class NotFound(HttpError):
    status, code = 404, "not_found"


class PayloadTooLarge(HttpError):
    status, code = 413, "payload_too_large"


class UnsupportedType(HttpError):
    status, code = 415, "unsupported_media_type"


class RequestTimeout(HttpError):
    status, code = 408, "request_timeout"


class TooManyRequests(HttpError):
    status, code = 429, "too_many_requests"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})


class HeadersTooLarge(HttpError):
    status, code = 431, "request_header_fields_too_large"


class ServiceUnavailable(HttpError):
    status, code = 503, "service_unavailable"

    def __init__(self, message: str, *, dependency: str) -> None:
        super().__init__(message, headers={"Retry-After": "2"})
        self.dependency = dependency
