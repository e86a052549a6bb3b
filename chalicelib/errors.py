"""Errors the domain raises; the HTTP layer (:mod:`chalicelib.web`) maps them to responses.

No Chalice import here: these are plain exceptions usable from handlers of any kind.
"""

from __future__ import annotations


class AppError(Exception):
    """Base: an error with an HTTP status, a stable code and a message that says what to do."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_body(self) -> dict:
        error: dict = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"error": error}


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"


class TooManyRequests(AppError):
    """A per-user limit was reached: retry after ``retry_after`` seconds."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class BadGateway(AppError):
    """An upstream AI provider refused the request (a 4xx such as a revoked key): retrying
    will not help until an operator fixes the configuration."""

    status = 502
    code = "provider_error"


class Unavailable(AppError):
    """A dependency is down: retry later; nothing that was accepted is lost."""

    status = 503
    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after: int = 5, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class DependencyUnavailable(RuntimeError):
    """Base of every "a dependency is down or answered unusably, retry later" error raised by an
    adapter (AI providers, the blob store). The API answers 503 with :meth:`public_message`; a
    background handler lets it propagate so the event source retries."""

    def public_message(self) -> str:
        """What the API tells the caller (no secrets, no internals)."""
        return "a dependency is unavailable; retry shortly"


#: The longest ``Idempotency-Key`` any route accepts.
MAX_IDEMPOTENCY_KEY = 128


def idempotency_key(value: str | None) -> str | None:
    """A request's ``Idempotency-Key`` header: None when absent, else 1-128 characters (400)."""
    if value is not None and not (0 < len(value) <= MAX_IDEMPOTENCY_KEY):
        raise BadRequest(f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} characters", field="Idempotency-Key")
    return value


class Forbidden(AppError):
    """A signed link that is not valid (tampered, malformed or not ours)."""

    status = 403
    code = "forbidden"


class Gone(AppError):
    """A signed link that has expired."""

    status = 410
    code = "gone"
