"""``chalice local`` as ``make run`` starts it: the same command, with logs fit to keep.

Two changes to what ``chalice local`` prints, and one to its sockets; nothing else (routes,
authorizer, stage config and environment are Chalice's own):

- every log record is a JSON line (:mod:`chalicelib.logs`), as in Lambda, instead of the bare
  ``%(message)s`` lines ``chalice local`` configures;
- the access line of each request is a JSON record without the query string: Python's
  ``http.server`` prints the whole request line, so a presigned upload URL's ``signature=``
  (``PUT /local/blobs?...&signature=...``) reached the log; a vendor's quote link token (a
  credential in the path) is logged as ``/vendor/quotes/{token}``;
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
from typing import Any

access_log = logging.getLogger("local.http")


#: Path segments that are credentials, logged as their route template.
_CREDENTIAL_PATHS = (re.compile(r"^/vendor/quotes/[^/]+"), "/vendor/quotes/{token}")


def _log_request(self: Any, code: Any = "-", size: Any = "-") -> None:
    path = str(getattr(self, "path", "")).split("?", 1)[0]
    path = _CREDENTIAL_PATHS[0].sub(_CREDENTIAL_PATHS[1], path)
    status = getattr(code, "value", code)
    access_log.info("%s %s %s", self.command, path, status,
                    extra={"method": self.command, "path": path, "status": status})


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
    chalice_local.ChaliceRequestHandler.disable_nagle_algorithm = True
    sys.argv = ["chalice", "local", *(sys.argv[1:] if argv is None else argv)]
    return chalice_main() or 0


if __name__ == "__main__":
    sys.exit(main())
