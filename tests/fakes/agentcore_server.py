"""A fake Bedrock AgentCore Runtime on loopback (``InvokeAgentRuntime``), for the real boto3
client pointed at it with ``endpoint_url``.

It behaves as an agent runtime whose agent keys its work by session: the first call in a session
runs the agent (``runs`` counts them) and, when ``stall_first`` is set, then holds the answer back
longer than the client waits (the client sees a read timeout after the work was done). A later call
in the same session answers with that run's outcome instead of running again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.fakes.server import FakeServer

SESSION_HEADER = "x-amzn-bedrock-agentcore-runtime-session-id"


class FakeAgentCore:
    def __init__(self, answer: dict[str, Any], stall_first: float = 0.0) -> None:
        self.answer = answer
        self.stall_first = stall_first
        self.runs: list[str] = []  # session ids, one per agent run
        self.outcomes: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.server = FakeServer(self._handle)

    def _handle(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any, float]:
        session = headers.get(SESSION_HEADER, "")
        with self._lock:
            if session in self.outcomes:
                return 200, self.outcomes[session], 0.0
            self.runs.append(session)
            self.outcomes[session] = {**self.answer, "task_id": (body or {}).get("task_id")}
            return 200, self.outcomes[session], self.stall_first

    @property
    def requests(self) -> list[Any]:
        return self.server.requests


@contextmanager
def agentcore_server(answer: dict[str, Any], stall_first: float = 0.0) -> Iterator[FakeAgentCore]:
    fake = FakeAgentCore(answer, stall_first)
    with fake.server:
        yield fake
