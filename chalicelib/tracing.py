"""The trace id of the current invocation, and carrying it across events and async invokes.

In AWS, X-Ray active tracing (``xray: true`` in ``.chalice/config.json``) gives every
invocation a trace header in ``_X_AMZN_TRACE_ID``; botocore forwards it on every AWS call, so
PutEvents and Invoke continue the same trace. The app also carries the trace id explicitly as
``trace_id`` in every EventBridge detail and async payload it sends, logs it on every
invocation line and stores it with each analysis (``analyses.trace_id``), so one id ties an
upload to its thumbnail, analysis and embedding, locally (where there is no X-Ray) as in AWS.

Ids use X-Ray's format, ``1-<8 hex epoch seconds>-<24 hex random>``, so a locally made id
looks like, and can be searched as, an X-Ray trace id.
"""

from __future__ import annotations

import contextvars
import os
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any

_TRACE_ID = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)


def new_trace_id() -> str:
    """A fresh id in X-Ray's format."""
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def parse(value: Any) -> str | None:
    """The root trace id in an ``X-Amzn-Trace-Id`` header (``Root=1-...;Parent=...``) or a bare
    id; None for anything else (a caller cannot inject arbitrary text into our logs)."""
    if not isinstance(value, str):
        return None
    for part in value.split(";"):
        part = part.strip()
        if part.lower().startswith("root="):
            part = part[5:]
        if _TRACE_ID.match(part):
            return part
    return None


def lambda_trace_id() -> str | None:
    """The X-Ray trace of this Lambda invocation (set by the runtime when tracing is on)."""
    return parse(os.environ.get("_X_AMZN_TRACE_ID"))


def bound() -> str | None:
    """The trace id bound to this invocation, if any (never makes one: for log formatting)."""
    return _current.get()


def current() -> str:
    """The current invocation's trace id (one is made if nothing bound one)."""
    trace_id = _current.get()
    if trace_id is None:
        trace_id = lambda_trace_id() or new_trace_id()
        _current.set(trace_id)
    return trace_id


def bind(trace_id: str | None) -> contextvars.Token:
    """Make ``trace_id`` (or a fresh one) current; pass the token to :func:`unbind`."""
    return _current.set(trace_id or lambda_trace_id() or new_trace_id())


def unbind(token: contextvars.Token) -> None:
    _current.reset(token)


def with_trace(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` with the current ``trace_id`` added (an explicit one is kept)."""
    data = dict(payload)
    if not parse(data.get("trace_id")):
        data["trace_id"] = current()
    return data


class TracingEventBus:
    """An :class:`~chalicelib.ports.EventBus` that adds ``trace_id`` to every event's detail."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def put_event(self, source: str, detail_type: str, detail: Mapping[str, Any]) -> str:
        return self.inner.put_event(source, detail_type, with_trace(detail))


class TracingInvoker:
    """An :class:`~chalicelib.ports.Invoker` that adds ``trace_id`` to every payload."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def invoke_async(self, function: str, payload: Mapping[str, Any]) -> Any:
        return self.inner.invoke_async(function, with_trace(payload))

    def invoke(self, function: str, payload: Mapping[str, Any]) -> Any:
        return self.inner.invoke(function, with_trace(payload))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
