"""Every log record as one JSON object per line, carrying the invocation's trace id.

The invocation lines of :mod:`chalicelib.observability` are JSON already; this formats what the
app, its libraries and Chalice log through :mod:`logging` the same way, so CloudWatch Logs
Insights (or ``jq`` locally) reads every line with one query:

    {"level":"WARNING","logger":"app.http","msg":"create_item: dependency unavailable: ...",
     "trace_id":"1-6b10...","time":"2026-12-02T14:05:07.510Z"}

Fields passed with ``extra=`` are added as keys; a traceback goes in ``exception`` (one line,
newlines escaped), never as extra lines.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

from chalicelib import tracing

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """``level``, ``logger``, ``msg``, ``trace_id``, ``time``, any ``extra`` fields, ``exception``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "trace_id": tracing.bound() or tracing.lambda_trace_id(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                    + f".{int(record.msecs):03d}Z",
        }
        if line["trace_id"] is None:
            del line["trace_id"]  # outside any invocation (start-up, the local server's access lines)
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, default=str, separators=(",", ":"))


def configure(level: int | str = logging.INFO, log_format: str | None = None) -> None:
    """Format the root logger's output as JSON (``LOG_FORMAT=text``: plain lines, for people).

    In Lambda the runtime has installed the root handler: it keeps it and gets our formatter.
    Elsewhere (``chalice local``, ``make run``, the CLIs) a stdout handler is added when the root
    has none; a root that already has handlers (pytest's capture) is left alone.
    """
    root = logging.getLogger()
    formatter: logging.Formatter = JsonFormatter()
    if log_format is None:
        from chalicelib import settings

        log_format = str(settings.read("log_format"))
    if log_format == "text":  # a person reading `make run`
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    if root.handlers and os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        for handler in root.handlers:
            handler.setFormatter(formatter)
    elif root.handlers:
        return
    else:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level)
