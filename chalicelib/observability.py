"""One structured JSON line per handler invocation, in CloudWatch's embedded metric format.

Registered as Chalice ``all`` middleware, so every route, S3 handler, EventBridge handler,
schedule and pure Lambda writes exactly one line: handler, kind, request id, user id, outcome,
duration, plus EMF metadata that makes CloudWatch record ``Invocations``, ``Errors`` and
``Duration`` per handler without any API call. Payloads and headers are never logged, so no
secret or token can reach the logs from here.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

NAMESPACE = os.environ.get("METRICS_NAMESPACE", "AiBackend")


def _context_value(context: Any, name: str) -> Any:
    if context is None:
        return None
    if isinstance(context, dict):
        return context.get(name)
    return getattr(context, name, None)


def describe(event: Any) -> dict[str, Any]:
    """Kind, handler name, request id and user id of a Chalice event object."""
    kind = type(event).__name__
    if kind == "Request":
        context = event.context or {}
        authorizer = context.get("authorizer") or {}
        lambda_context = getattr(event, "lambda_context", None)
        return {
            "kind": "http",
            "handler": f"{event.method} {context.get('resourcePath', event.path)}",
            "request_id": context.get("requestId") or _context_value(lambda_context, "aws_request_id"),
            "user_id": authorizer.get("principalId"),
        }
    context = getattr(event, "context", None)
    info: dict[str, Any] = {
        "kind": {"S3Event": "s3", "CloudWatchEvent": "event", "LambdaFunctionEvent": "invoke"}.get(kind, kind),
        "handler": _context_value(context, "function_name") or kind,
        "request_id": _context_value(context, "aws_request_id"),
        "user_id": None,
    }
    if kind == "CloudWatchEvent":
        info["event_id"] = getattr(event, "event_id", None)
        detail = getattr(event, "detail", None) or {}
        if isinstance(detail, dict):
            info["user_id"] = detail.get("user_id")
        info["detail_type"] = getattr(event, "detail_type", None)
        if info["detail_type"] == "Scheduled Event":
            info["kind"] = "schedule"
    elif kind == "S3Event":
        info["user_id"] = (getattr(event, "key", "") or "").split("/", 1)[0] or None
    return info


def emit(record: dict[str, Any], metrics: dict[str, tuple[float, str]] | None = None,
         dimensions: tuple[str, ...] = ("handler",)) -> None:
    """Write one JSON line to stdout; with ``metrics`` it is also an EMF document."""
    line = dict(record)
    if metrics:
        line["_aws"] = {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [list(dimensions)],
                "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in metrics.items()],
            }],
        }
        line.update({name: value for name, (value, _) in metrics.items()})
    sys.stdout.write(json.dumps(line, default=str, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def invocation_middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice ``all`` middleware: time the handler and emit its line, success or failure."""
    started = time.perf_counter()
    info = describe(event)
    outcome, error = "ok", None
    try:
        response = get_response(event)
    except Exception as exc:
        outcome, error = "error", type(exc).__name__
        raise
    else:
        status = getattr(response, "status_code", None)
        if status is not None:
            info["status"] = status
            outcome = "error" if status >= 500 else ("rejected" if status >= 400 else "ok")
        return response
    finally:
        duration = (time.perf_counter() - started) * 1000
        record = {"level": "ERROR" if outcome == "error" else "INFO", "msg": "invocation",
                  **info, "outcome": outcome, "duration_ms": round(duration, 2)}
        if error:
            record["error"] = error
        emit(record, {"Invocations": (1, "Count"), "Errors": (1 if outcome == "error" else 0, "Count"),
                      "Duration": (round(duration, 2), "Milliseconds")})
