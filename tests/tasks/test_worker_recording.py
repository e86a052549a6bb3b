"""The worker keeps retrying to record an outcome while the task store fails, for
TASK_RECORD_RETRY_SECONDS with backoff, then lets the invocation fail."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.providers.base import AgentResult
from chalicelib.tasks.model import PROCESSING, Task
from chalicelib.tasks.service import TaskService


class FlakyStore:
    """Claims work; the outcome write fails ``failures`` times (None: always)."""

    def __init__(self, failures: int | None) -> None:
        self.failures, self.writes = failures, 0

    def apply(self, task_id: str, change: Any) -> Task | None:
        if change.status == PROCESSING:  # the claim
            return Task(id=task_id, owner="u", description="paint", status=PROCESSING, events=[])
        self.writes += 1
        if self.failures is None or self.writes <= self.failures:
            raise ConnectionError("database unavailable")
        return Task(id=task_id, owner="u", description="paint", status=change.status, events=[])


class ReportingAgent:
    """An external runtime's answer (no tools): only the recording is under test here."""

    def run(self, task_id: str, description: str) -> AgentResult:
        return AgentResult("done", [{"name": "A"}], [], 1, "agentcore")


def worker(store: FlakyStore, seconds: float, sleeps: list[float]) -> TaskService:
    return TaskService(store, invoker=None, worker_function="task_worker", deadline_seconds=900,
                       max_description_chars=4000, record_retry_seconds=seconds, sleep=sleeps.append)


def test_a_short_outage_is_ridden_out_with_backoff() -> None:
    sleeps: list[float] = []
    store = FlakyStore(failures=4)
    assert worker(store, 60, sleeps).run_worker("t-1", ReportingAgent())["status"] == "completed"
    assert store.writes == 5 and sleeps == [0.5, 1.0, 2.0, 4.0]


def test_an_outage_longer_than_the_budget_fails_the_invocation() -> None:
    sleeps: list[float] = []
    store = FlakyStore(failures=None)
    with pytest.raises(ConnectionError):
        worker(store, 0, sleeps).run_worker("t-1", ReportingAgent())
    assert store.writes == 1 and sleeps == []
