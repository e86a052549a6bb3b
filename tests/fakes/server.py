"""A scriptable JSON HTTP server on an ephemeral loopback port.

Queue canned replies with :meth:`FakeServer.reply`, or set :attr:`FakeServer.handler` to a callable
``(path, headers, body) -> (status, json_body)`` or ``(status, json_body, delay_seconds)``
(a delay longer than the client's timeout is a timeout); every request is kept in :attr:`requests`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[int, Any, float]  # status, json body, delay in seconds


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class FakeServer:
    def __init__(self, default: Callable[[str, dict[str, str], Any], tuple[int, Any]] | None = None) -> None:
        self.requests: list[Recorded] = []
        self.replies: deque[Reply] = deque()
        self.handler = default
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except json.JSONDecodeError:
                    body = raw.decode(errors="replace")
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload, delay = outer._next(self.path, headers, body)
                if delay:
                    time.sleep(delay)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _next(self, path: str, headers: dict[str, str], body: Any) -> Reply:
        with self._lock:
            self.requests.append(Recorded("POST", path, headers, body))
            if self.replies:
                return self.replies.popleft()
        if self.handler is None:
            return 500, {"error": "no reply scripted"}, 0.0
        reply = self.handler(path, headers, body)
        return (reply[0], reply[1], reply[2] if len(reply) > 2 else 0.0)

    def reply(self, status: int, body: Any, delay: float = 0.0) -> FakeServer:
        self.replies.append((status, body, delay))
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
