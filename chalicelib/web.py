"""HTTP plumbing shared by every route: JSON bodies, the caller's identity, error mapping."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Response

from chalicelib import errors

log = logging.getLogger("app.http")

JSON = "application/json"


def current_user(app: Chalice) -> str:
    """The authenticated caller (the token's ``sub``); never taken from a path or body."""
    context = app.current_request.context or {}
    principal = (context.get("authorizer") or {}).get("principalId")
    if not principal:
        raise errors.AppError("route is missing its authorizer")
    return str(principal)


def json_body(app: Chalice, max_bytes: int) -> dict[str, Any]:
    """The request body as a JSON object, or a 415/413/400 naming the problem."""
    request = app.current_request
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != JSON and not content_type.endswith("+json"):
        raise errors.UnsupportedMediaType(
            f"send the body as {JSON} (got {content_type or 'no Content-Type'})"
        )
    raw = request.raw_body or b""
    if len(raw) > max_bytes:
        raise errors.PayloadTooLarge(f"body is {len(raw)} bytes; the limit is {max_bytes}")
    if not raw.strip():
        raise errors.BadRequest("request body is empty; send a JSON object")
    try:
        body = json.loads(raw)
    except UnicodeDecodeError:
        raise errors.BadRequest("request body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise errors.BadRequest(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(body, dict):
        raise errors.BadRequest(f"body must be a JSON object, got {type(body).__name__}")
    _reject_unstorable_text(body)
    return body


def _reject_unstorable_text(value: Any) -> None:
    """400 for strings no database can store: NUL characters and unpaired surrogates (JSON's
    ``\\u0000`` and ``\\ud800`` escapes decode to them; PostgreSQL and UTF-8 refuse both)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise errors.BadRequest("strings must not contain NUL (\\u0000) characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise errors.BadRequest("strings must be valid Unicode (an unpaired surrogate escape was sent)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_unstorable_text(key)
            _reject_unstorable_text(item)
    elif isinstance(value, list):
        for item in value:
            _reject_unstorable_text(item)


def query_params(app: Chalice) -> dict[str, str]:
    """The query string's parameters (400 for values no database can store)."""
    params = dict(app.current_request.query_params or {})
    _reject_unstorable_text(params)
    return params


def error_response(error: errors.AppError) -> Response:
    headers = {"Content-Type": JSON}
    if isinstance(error, (errors.Unavailable, errors.TooManyRequests)):
        headers["Retry-After"] = str(error.retry_after)
    return Response(body=error.to_body(), status_code=error.status, headers=headers)


def classify_dependency_error(exc: BaseException) -> errors.Unavailable | errors.BadGateway | None:
    """Map 'a dependency is down' exceptions (database, AWS, every
    :class:`~chalicelib.errors.DependencyUnavailable`) to a 503, and an AI provider refusing the
    request to a 502. By type, never by class name: renaming a class cannot change the answer."""
    try:
        from sqlalchemy.exc import DBAPIError, OperationalError
        from sqlalchemy.exc import TimeoutError as PoolTimeout
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, (OperationalError, PoolTimeout)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return errors.Unavailable("the database is unavailable; retry shortly")
    if isinstance(exc, errors.DependencyUnavailable):  # AI providers, the blob store
        return errors.Unavailable(exc.public_message())
    from chalicelib.providers.base import ProviderError

    if isinstance(exc, ProviderError):  # a 4xx answer (bad key, bad request): not transient
        return errors.BadGateway("the AI provider refused the request; this is a server configuration "
                                 "problem and it has been logged")
    from chalicelib.aws.transient import describe, is_transient

    if is_transient(exc):
        return errors.Unavailable(f"an AWS service is unavailable ({describe(exc)}); retry shortly")
    return None


def endpoint(func: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a view: domain errors become JSON 4xx/503 responses, anything else a JSON 500."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            _reject_unstorable_text(kwargs)  # path parameters, decoded by API Gateway
            return func(*args, **kwargs)
        except errors.AppError as exc:
            if exc.status >= 500:
                log.warning("%s failed: %s", func.__name__, exc.message)
            return error_response(exc)
        except Exception as exc:  # noqa: BLE001 - the last line of defence for the API
            dependency = classify_dependency_error(exc)
            if isinstance(dependency, errors.BadGateway):
                log.error("%s: an AI provider refused the request: %s", func.__name__, exc)
                return error_response(dependency)
            if dependency is not None:
                log.warning("%s: dependency unavailable: %s", func.__name__, type(exc).__name__)
                return error_response(dependency)
            log.exception("%s: unhandled error", func.__name__)
            return error_response(errors.AppError("internal error; it has been logged"))

    return wrapper


def normalize_chalice_errors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """HTTP middleware: give Chalice's own errors (415, 500, ...) our JSON error shape."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body and "Message" in body:
        code = {415: "unsupported_media_type", 400: "bad_request"}.get(
            response.status_code, "internal_error" if response.status_code >= 500 else "error"
        )
        response.body = {"error": {"code": code, "message": body["Message"]}}
    return response
