"""One structured JSON line per handler invocation, in CloudWatch's embedded metric format.

Registered as Chalice ``all`` middleware, so every route, S3 handler, EventBridge handler,
schedule and pure Lambda writes exactly one line (Chalice runs no middleware for a built-in
authorizer: :func:`observe_authorizer` gives it the same line): handler, kind, request or event id, trace id,
user id, outcome, duration, plus EMF metadata that makes CloudWatch record ``Invocations``,
``Errors`` and ``Duration`` per handler without any API call. :func:`put_metrics` adds the
domain's figures (a generator run, a pipeline stage, tasks by status) the same way.

Locally (``STAGE=local``) every metric line is also appended to ``.local/metrics.jsonl``;
``make metrics`` (:mod:`localdev.metrics`) sums them. Payloads and headers are never
logged, so no secret or token can reach the logs from here.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from chalicelib import logs, tracing

_file_lock = threading.Lock()
_text_log = logging.getLogger("metrics")


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
    function = _context_value(context, "function_name")
    info: dict[str, Any] = {
        "kind": {"S3Event": "s3", "CloudWatchEvent": "event", "LambdaFunctionEvent": "invoke"}.get(kind, kind),
        # Chalice names functions <app>-<stage>-<handler>; handler names never contain '-'.
        "handler": function.rsplit("-", 1)[-1] if isinstance(function, str) else kind,
        "request_id": _context_value(context, "aws_request_id"),
        "user_id": None,
    }
    if kind == "LambdaFunctionEvent":
        payload = getattr(event, "event", None)
        if isinstance(payload, dict) and isinstance(payload.get("user_id"), str):
            info["user_id"] = payload["user_id"]  # for the log only: the handler never trusts it
    elif kind == "CloudWatchEvent":
        info["event_id"] = getattr(event, "event_id", None)
        detail = getattr(event, "detail", None) or {}
        if isinstance(detail, dict):
            info["user_id"] = detail.get("user_id")
        info["detail_type"] = getattr(event, "detail_type", None)
        if info["detail_type"] == "Scheduled Event":
            info["kind"] = "schedule"
    elif kind == "S3Event":
        info["user_id"] = (getattr(event, "key", "") or "").split("/", 1)[0] or None
        info["event_id"] = _s3_event_id(event)
    return info


def _s3_event_id(event: Any) -> str | None:
    """S3's id of the notification's first record (its request id, else the sequencer)."""
    try:
        record = event.to_dict()["Records"][0]
    except (AttributeError, KeyError, IndexError, TypeError):
        return None
    return ((record.get("responseElements") or {}).get("x-amz-request-id")
            or ((record.get("s3") or {}).get("object") or {}).get("sequencer"))


def _incoming_trace(event: Any, info: Mapping[str, Any]) -> str | None:
    """The trace id the caller sent: X-Amzn-Trace-Id on HTTP, ``trace_id`` in an event's
    detail or an async payload; else None (the Lambda's own X-Ray trace or a new id is used)."""
    if info["kind"] == "http":
        return tracing.parse((getattr(event, "headers", None) or {}).get("x-amzn-trace-id"))
    detail = getattr(event, "detail", None)
    if isinstance(detail, dict):
        return tracing.parse(detail.get("trace_id"))
    payload = getattr(event, "event", None)
    if isinstance(payload, dict):
        return tracing.parse(payload.get("trace_id"))
    return None


def _namespace() -> str:
    """METRICS_NAMESPACE: one per stage (ai-backend/<stage>), so dev never mixes with prod."""
    from chalicelib.settings import get_settings

    return get_settings().metrics_namespace


def emit(record: dict[str, Any], metrics: dict[str, tuple[float, str]] | None = None,
         dimensions: tuple[str, ...] = ("handler",), also_by: tuple[tuple[str, ...], ...] = ()) -> None:
    """Write one JSON line to stdout; with ``metrics`` it is also an EMF document, recorded per
    ``dimensions`` and once more per each extra dimension set in ``also_by``."""
    line = dict(record)
    if metrics:
        line["_aws"] = {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [{
                "Namespace": _namespace(),
                "Dimensions": [list(dimensions), *(list(extra) for extra in also_by)],
                "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in metrics.items()],
            }],
        }
        line.update({name: value for name, (value, _) in metrics.items()})
    text = json.dumps(line, default=str, separators=(",", ":")) + "\n"
    if logs.is_text():
        # A person reads this output (a terminal): the access line of chalice local and the
        # runtime's delivery line already say one line per request and delivery; this one
        # (kept in .local/metrics.jsonl) shows at DEBUG.
        _text_log.debug("%s", text.rstrip("\n"))
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if metrics:
        _append_local(text)


def local_metrics_file() -> Path | None:
    """``<LOCAL_DATA_DIR>/metrics.jsonl`` in the local stage; None in AWS (CloudWatch reads stdout)."""
    from chalicelib.settings import get_settings

    settings = get_settings()
    return settings.local_data_dir / "metrics.jsonl" if settings.is_local else None


#: The local metrics file held open for appending: (its path, the handle). Opening, creating its
#: folder and closing it for every line cost each request of `make run` about 8% of its time
#: under load (found with py-spy on benchmarks/bench_load.py).
_local_file: tuple[Path, TextIO] | None = None


def _append_local(text: str) -> None:
    """Append one line (one write, so the server's and the runtime's lines never interleave);
    the file is reopened when the local data folder changes or the file was removed."""
    global _local_file
    try:
        path = local_metrics_file()
        if path is None:
            return
        with _file_lock:
            if _local_file is None or _local_file[0] != path or not path.exists():
                if _local_file is not None:
                    _local_file[1].close()
                    _local_file = None
                path.parent.mkdir(parents=True, exist_ok=True)
                _local_file = (path, path.open("a", encoding="utf-8"))
            _local_file[1].write(text)
            _local_file[1].flush()
    except Exception:  # noqa: BLE001 - a metrics file must never fail a handler
        pass


def put_metrics(msg: str, dimensions: Mapping[str, str], metrics: Mapping[str, tuple[float, str]],
                **fields: Any) -> None:
    """Emit one EMF line: ``metrics`` (name -> (value, unit)) under ``dimensions`` (name -> value),
    with the current trace id and any extra ``fields`` for the log reader."""
    record = {"level": "INFO", "msg": msg, **dimensions, "trace_id": tracing.current(), **fields}
    emit(record, dict(metrics), tuple(dimensions))


def _emit_invocation(info: Mapping[str, Any], outcome: str, started: float,
                     also_by: tuple[tuple[str, ...], ...] = ()) -> None:
    """The invocation line of a handler that began at ``started`` (``time.perf_counter()``)."""
    duration = round((time.perf_counter() - started) * 1000, 2)
    emit({"level": "ERROR" if outcome == "error" else "INFO", "msg": "invocation", **info,
          "outcome": outcome, "duration_ms": duration},
         {"Invocations": (1, "Count"), "Errors": (1 if outcome == "error" else 0, "Count"),
          "Duration": (duration, "Milliseconds")}, also_by=also_by)


def observe_authorizer(authorizer: Any) -> Any:
    """Give a Chalice built-in authorizer its invocation line (``kind: authorizer``; ``outcome``
    ``ok`` with the user, ``rejected`` with the reason, or ``error``). Chalice runs no middleware
    for it, locally or in Lambda (where it is a function of its own). The object keeps its
    identity, so the routes that name it and the deployed handler ``app.<name>`` are unchanged."""
    from chalice.app import ChaliceAuthorizer

    class ObservedAuthorizer(ChaliceAuthorizer):
        def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
            started = time.perf_counter()
            token = tracing.bind(None)
            info: dict[str, Any] = {"kind": "authorizer", "handler": self.name,
                                    "request_id": _context_value(context, "aws_request_id"),
                                    "user_id": None, "trace_id": tracing.current()}
            outcome = "error"
            try:
                result = super().__call__(event, context)
                outcome = "ok"
                if isinstance(result, dict):
                    info["user_id"] = result.get("principalId")
                return result
            except Exception as exc:
                reason = getattr(exc, "auth_reason", None)
                if reason is not None:
                    outcome, info["reason"] = "rejected", reason
                else:
                    info["error"] = type(exc).__name__
                raise
            finally:
                tracing.unbind(token)
                _emit_invocation(info, outcome, started)

    authorizer.__class__ = ObservedAuthorizer
    return authorizer


def invocation_middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice ``all`` middleware: time the handler and emit its line, success or failure."""
    started = time.perf_counter()
    info = describe(event)
    token = tracing.bind(_incoming_trace(event, info))
    info["trace_id"] = tracing.current()
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
            headers = getattr(response, "headers", None)
            if isinstance(headers, dict):
                headers.setdefault("X-Trace-Id", info["trace_id"])
        return response
    finally:
        tracing.unbind(token)
        if error:
            info["error"] = error
        # HTTP lines are also recorded per kind (kind=http: every route together): Chalice turns
        # a route's exception into a 500 response, which Lambda's own Errors metric never sees,
        # so the API's error-rate alarm (deploy/monitoring.py) reads this one as well.
        _emit_invocation(info, outcome, started, also_by=(("kind",),) if info["kind"] == "http" else ())
