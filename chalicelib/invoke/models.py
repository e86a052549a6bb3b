"""Request and response shapes of the Lambda adapter and the payload mapping.

``build_payload`` turns an :class:`ExecuteRequest` into the seed's "Lambda Invocation
Payload"; ``parse_invoke_response`` turns a boto3 ``Invoke`` response into an
:class:`ExecuteResponse`. Both are plain functions so they are easy to test on their own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: Fields of the seed's "Expected Lambda Response"; anything else is a custom field.
KNOWN_RESPONSE_FIELDS = frozenset(
    {"success", "message", "response_type", "overlay_data", "browser_source_url", "targets", "error"}
)


@dataclass
class ExecuteRequest:
    """One command for a module, as the seed builds it."""

    command: str
    args: list[str] = field(default_factory=list)
    user_id: str = ""
    entity_id: str = ""
    community_id: str = ""
    session_id: str = ""
    platform: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    scopes: list[str] = field(default_factory=list)


@dataclass
class ExecuteResponse:
    """What a module answered, or why it could not.

    ``success`` is False for every failure (invocation error, function error, unparsable
    payload); ``error`` then says what went wrong. Custom fields of the Lambda's answer are
    kept in ``extra``; ``payload`` holds the parsed body as returned.
    """

    success: bool
    message: str = ""
    response_type: str = "text"
    overlay_data: Any = None
    browser_source_url: str | None = None
    targets: list[Any] = field(default_factory=list)
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    status_code: int | None = None
    function_error: str | None = None
    error_code: str | None = None
    attempts: int = 0
    payload: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The seed's response shape, custom fields merged back at the top level."""
        out: dict[str, Any] = dict(self.extra)
        out.update(
            success=self.success,
            message=self.message,
            response_type=self.response_type,
            overlay_data=self.overlay_data,
            browser_source_url=self.browser_source_url,
            targets=list(self.targets),
            error=self.error,
        )
        return out

    def raise_for_error(self) -> ExecuteResponse:
        """Raise :class:`~chalicelib.invoke.classification.InvocationFailed` unless successful."""
        if not self.success:
            from .classification import InvocationFailed

            raise InvocationFailed(self)
        return self


def utc_timestamp(moment: datetime | None = None) -> str:
    """ISO-8601 in UTC with a ``Z`` suffix and microseconds: ``2024-01-15T10:30:45.123456Z``."""
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _section(metadata: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = metadata.get(name) if metadata else None
    return value if isinstance(value, Mapping) else {}


def build_payload(request: ExecuteRequest, now: datetime | None = None) -> dict[str, Any]:
    """Map a request to the seed's invocation payload, filling from ``request.metadata``.

    Unknown values are ``null`` (never invented): a module can tell "not given" from a value.
    ``metadata["trigger"]`` may carry ``event_type`` / ``event_data`` for event triggers.
    """
    metadata = request.metadata or {}
    community = _section(metadata, "community")
    user = _section(metadata, "user")
    entity = _section(metadata, "entity")
    trigger = _section(metadata, "trigger")
    return {
        "community": {
            "id": request.community_id,
            "name": community.get("name"),
            "is_subscribed": bool(community.get("is_subscribed", False)),
            "subscription_order_id": community.get("subscription_order_id"),
            "seat_count": community.get("seat_count", 0),
        },
        "trigger": {
            "type": "command",
            "command": request.command,
            "context_text": " ".join(str(arg) for arg in request.args),
            "event_type": trigger.get("event_type"),
            "event_data": trigger.get("event_data"),
        },
        "user": {
            "id": request.user_id,
            "username": user.get("username"),
            "platform": request.platform,
            "platform_user_id": user.get("platform_user_id"),
        },
        "entity": {
            "id": request.entity_id,
            "platform": entity.get("platform", request.platform),
            "platform_entity_id": entity.get("platform_entity_id"),
        },
        "request_id": request.session_id,
        "timestamp": utc_timestamp(now),
    }


def _read_payload(raw: Any) -> bytes:
    if raw is None:
        return b""
    if hasattr(raw, "read"):
        raw = raw.read()
    if isinstance(raw, str):
        return raw.encode("utf-8")
    return bytes(raw)


def _from_body(body: Any, status_code: int | None) -> ExecuteResponse:
    """Normalise a parsed Lambda body (the seed's response shape, or anything JSON)."""
    if isinstance(body, Mapping) and "statusCode" in body and "body" in body:
        # API-Gateway-style proxy answer: the real answer is the (usually JSON) inner body.
        inner_status = body.get("statusCode")
        inner: Any = body.get("body")
        if isinstance(inner, (str, bytes)):
            try:
                inner = json.loads(inner) if inner else None
            except ValueError:
                inner = {"message": inner.decode() if isinstance(inner, bytes) else inner}
        response = _from_body(inner, inner_status if isinstance(inner_status, int) else status_code)
        if isinstance(inner_status, int) and inner_status >= 400 and not (
            isinstance(inner, Mapping) and "success" in inner
        ):
            response.success = False
            response.error = response.error or response.message or f"HTTP {inner_status}"
        response.payload = body
        return response

    if not isinstance(body, Mapping):
        message = body if isinstance(body, str) else ""
        return ExecuteResponse(success=True, message=message, status_code=status_code, payload=body)

    success = bool(body.get("success", True))
    error = body.get("error")
    targets = body.get("targets")
    response = ExecuteResponse(
        success=success,
        message=str(body.get("message") or ""),
        response_type=str(body.get("response_type") or "text"),
        overlay_data=body.get("overlay_data"),
        browser_source_url=body.get("browser_source_url"),
        targets=list(targets) if isinstance(targets, (list, tuple)) else [],
        error=str(error) if error is not None else None,
        extra={k: v for k, v in body.items() if k not in KNOWN_RESPONSE_FIELDS},
        status_code=status_code,
        payload=body,
    )
    if not success and response.error is None:
        response.error = response.message or "module reported failure"
    return response


def parse_invoke_response(raw: Mapping[str, Any], invocation_type: str) -> ExecuteResponse:
    """Turn a boto3 ``Invoke`` response into an :class:`ExecuteResponse`.

    * Event: 202 means queued (the seed's ``"Lambda function queued"``).
    * ``FunctionError`` present: the function raised; failure with errorType/errorMessage.
    * Otherwise the JSON payload is normalised by the seed's response shape.
    """
    status_code = raw.get("StatusCode")
    if invocation_type == "Event":
        if status_code == 202:
            return ExecuteResponse(success=True, message="Lambda function queued", status_code=202)
        return ExecuteResponse(
            success=False,
            error=f"unexpected status {status_code} for an Event invocation",
            status_code=status_code,
            error_code="UnexpectedStatus",
        )

    data = _read_payload(raw.get("Payload"))
    function_error = raw.get("FunctionError")
    try:
        body = json.loads(data) if data else None
    except ValueError:
        if function_error:
            body = None
        else:
            return ExecuteResponse(
                success=False,
                error=f"Lambda returned a non-JSON payload ({len(data)} bytes)",
                status_code=status_code,
                error_code="InvalidResponsePayload",
                payload=data.decode("utf-8", "replace"),
            )

    if function_error:
        error_type = body.get("errorType") if isinstance(body, Mapping) else None
        error_message = body.get("errorMessage") if isinstance(body, Mapping) else None
        summary = ": ".join(str(p) for p in (error_type or function_error, error_message) if p)
        return ExecuteResponse(
            success=False,
            error=f"function error: {summary}",
            status_code=status_code,
            function_error=function_error,
            error_code=str(error_type or function_error),
            payload=body,
        )

    return _from_body(body, status_code)
