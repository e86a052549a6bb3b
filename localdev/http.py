"""``chalice local`` as ``make run`` starts it: the same command, with logs fit to keep.

Changes to what ``chalice local`` prints, one to what it answers and one to its sockets; nothing
else (routes, authorizer, stage config and environment are Chalice's own):

- every log record is a JSON line (:mod:`chalicelib.logs`), as in Lambda, or a text line for a
  person (``LOG_FORMAT=text``, the default on a terminal), instead of the bare ``%(message)s``
  lines ``chalice local`` configures;
- the access line of each request (method, path, status, duration) has no query string: Python's
  ``http.server`` prints the whole request line, so a presigned upload URL's ``signature=``
  (``PUT /local/blobs?...&signature=...``) reached the log; a vendor's quote link token (a
  credential in the path) is logged as ``/vendor/quotes/{token}``;
- a ``GET /local/blobs`` (the local presigned S3 GET) without an ``Accept`` header accepts any
  type, as HTTP says (RFC 9110, 12.5.1) and S3 serves it. Chalice answers a binary response
  without a matching ``Accept`` with 400, as API Gateway does, so Python's ``urllib`` (which
  sends no ``Accept``) could not fetch a thumbnail. Only this S3 stand-in is changed: the API's
  own routes keep API Gateway's rule;
- responses go out with TCP_NODELAY: the handler writes headers and body separately on a
  keep-alive connection, and Nagle's algorithm held the body until the client's delayed ACK
  (~40 ms added to every response; found by benchmarks/bench_search.py).

``python -m localdev.http [chalice local options]``.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from typing import Any

access_log = logging.getLogger("local.http")

#: ``make run``'s readiness probe sends this header with ``GET /health``: no access line for it.
PROBE_HEADER = "X-Readiness-Probe"
BLOB_PATH = "/local/blobs"


#: Path segments that are credentials, logged as their route template.
_CREDENTIAL_PATHS = (re.compile(r"^/vendor/quotes/[^/]+"), "/vendor/quotes/{token}")


def _log_request(self: Any, code: Any = "-", size: Any = "-") -> None:
    path = str(getattr(self, "path", "")).split("?", 1)[0]
    headers = getattr(self, "headers", None)
    if path == "/health" and headers is not None and headers.get(PROBE_HEADER):
        return
    path = _CREDENTIAL_PATHS[0].sub(_CREDENTIAL_PATHS[1], path)
    status = getattr(code, "value", code)
    started = getattr(self, "_started", None)
    fields: dict[str, Any] = {"method": self.command, "path": path, "status": status}
    if started is None:
        access_log.info("%s %s %s", self.command, path, status, extra=fields)
        return
    fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
    access_log.info("%s %s %s %.0f ms", self.command, path, status, fields["duration_ms"], extra=fields)


def _timed(parse_request: Any) -> Any:
    """Note when a request began (its access line says how long it took)."""
    def parse(self: Any) -> bool:
        self._started = time.perf_counter()
        return parse_request(self)

    return parse


def _accept_anything_from_blob_gets(parse_payload: Any) -> Any:
    """A ``GET``/``HEAD /local/blobs`` without ``Accept`` accepts any type (see the module doc)."""
    def parse(self: Any) -> tuple[dict[str, Any], bytes | None]:
        headers, body = parse_payload(self)
        path = str(getattr(self, "path", "")).split("?", 1)[0]
        if (self.command in ("GET", "HEAD") and path == BLOB_PATH
                and not any(name.lower() == "accept" for name in headers)):
            headers["Accept"] = "*/*"
        return headers, body

    return parse


def _log_message(self: Any, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
    access_log.warning(format, *args)


def main(argv: list[str] | None = None) -> int:
    from chalice import local as chalice_local
    from chalice.cli import main as chalice_main

    from chalicelib import logs

    # Before chalice's own basicConfig, which then leaves the root logger alone.
    logs.configure(os.environ.get("LOG_LEVEL", "INFO").upper())
    chalice_local.ChaliceRequestHandler.log_request = _log_request
    chalice_local.ChaliceRequestHandler.log_message = _log_message
    handler = chalice_local.ChaliceRequestHandler
    handler._parse_payload = _accept_anything_from_blob_gets(handler._parse_payload)
    handler.parse_request = _timed(handler.parse_request)
    handler.disable_nagle_algorithm = True
    sys.argv = ["chalice", "local", *(sys.argv[1:] if argv is None else argv)]
    return chalice_main() or 0


if __name__ == "__main__":
    sys.exit(main())
