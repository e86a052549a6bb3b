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


#: Libraries whose INFO lines are start-up noise for a person (``make run``): pgserver prints
#: every initdb/pg_ctl command line and its output, Alembic a line per plugin. Their warnings stay.
QUIET_LIBRARIES = ("pgserver", "alembic")

_format: str | None = None  # what configure() chose: "json" or "text"


def choose_format(setting: str = "", stream: object | None = None) -> str:
    """``json`` or ``text``: the ``LOG_FORMAT`` setting when it says one; otherwise JSON in
    Lambda, text when ``stream`` (stdout) is a terminal (a person watching ``make run``), JSON
    otherwise (a file, a pipe, CI, ``jq``)."""
    explicit = setting.strip().lower()
    if explicit in ("json", "text"):
        return explicit
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return "json"
    isatty = getattr(sys.stdout if stream is None else stream, "isatty", None)
    try:
        return "text" if isatty is not None and isatty() else "json"
    except (ValueError, OSError):  # a closed stream
        return "json"


def is_text() -> bool:
    """True when this process logs plain lines for a person (``LOG_FORMAT=text`` or a terminal),
    never in Lambda, where CloudWatch reads the invocation lines as metrics."""
    return _format == "text" and not os.environ.get("AWS_LAMBDA_FUNCTION_NAME")


class TextFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL logger message``: one line a person reads (a traceback follows it); the
    app's loggers without their ``chalicelib.`` prefix."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        name = record.name
        record.name = name.removeprefix("chalicelib.")
        try:
            return super().format(record)
        finally:
            record.name = name


def configure(level: int | str = logging.INFO, log_format: str | None = None,
              stream: object | None = None) -> None:
    """Format the root logger's output as JSON or text (:func:`choose_format` of ``log_format``,
    the ``LOG_FORMAT`` setting when not given).

    In Lambda the runtime has installed the root handler: it keeps it and gets our formatter.
    Elsewhere (``chalice local``, ``make run``, the CLIs) a handler writing to ``stream``
    (stdout) is added when the root has none; a root that already has handlers (pytest's
    capture) is left alone. Start-up chatter of :data:`QUIET_LIBRARIES` is kept to warnings.
    """
    global _format
    root = logging.getLogger()
    if log_format is None:
        from chalicelib import settings

        log_format = str(settings.read("log_format"))
    _format = choose_format(log_format, stream)
    formatter: logging.Formatter = TextFormatter() if _format == "text" else JsonFormatter()
    numeric = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
    for name in QUIET_LIBRARIES if not isinstance(numeric, int) or numeric > logging.DEBUG else ():
        if logging.getLogger(name).level == logging.NOTSET:
            logging.getLogger(name).setLevel(logging.WARNING)
    if root.handlers and os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        for handler in root.handlers:
            handler.setFormatter(formatter)
    elif root.handlers:
        return
    else:
        handler = logging.StreamHandler(sys.stdout if stream is None else stream)
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level)
