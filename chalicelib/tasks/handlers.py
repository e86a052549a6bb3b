"""What app.py's task handlers call: the service wired for this stage."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from chalicelib import observability, wiring
from chalicelib.settings import get_settings
from chalicelib.tasks.model import WorkerPayload
from chalicelib.tasks.service import TaskService
from chalicelib.timeutil import iso, utcnow

log = logging.getLogger(__name__)


def service() -> TaskService:
    settings = get_settings()
    return TaskService(
        wiring.task_store(), wiring.invoker(), settings.worker_lambda_arn or "task_worker",
        deadline_seconds=settings.task_deadline_seconds,
        reinvoke_after_seconds=settings.task_reinvoke_after_seconds, reinvoke_max=settings.task_reinvoke_max,
        worker_timeout_seconds=settings.task_worker_timeout_seconds, resume_max=settings.task_resume_max,
        max_description_chars=settings.task_description_max_chars,
        record_retry_seconds=settings.task_record_retry_seconds,
        handoff_seconds=settings.task_handoff_seconds,
    )


#: Seconds of the worker's invocation kept back from the agent for recording its outcome.
RECORD_RESERVE_SECONDS = 30.0


def agent_deadline(remaining_ms: Callable[[], int] | None, worker_timeout: float | None = None) -> float | None:
    """The agent's deadline on ``time.monotonic()``: the invocation's remaining time (Lambda
    context), at most ``worker_timeout`` (TASK_WORKER_TIMEOUT_SECONDS: a claim older than that
    is taken over as stopped), less :data:`RECORD_RESERVE_SECONDS`; None without a context."""
    if remaining_ms is None:
        return None
    remaining = remaining_ms() / 1000
    if worker_timeout is not None and remaining > worker_timeout + 1:
        log.error("the worker's Lambda timeout (%.0f s left) is longer than TASK_WORKER_TIMEOUT_SECONDS=%.0f: "
                  "set it to the function's timeout; the agent is stopped at the setting", remaining, worker_timeout)
        remaining = worker_timeout
    return time.monotonic() + max(0.0, remaining - RECORD_RESERVE_SECONDS)


def run_worker(event: dict[str, Any], remaining_ms: Callable[[], int] | None = None) -> dict[str, Any]:
    """Our payload ``{"task_id", "user_id", "trace_id"}`` or the seed's ``{"task_id",
    "description"}``. Either way the task is read from the store by id and the agent gets the
    stored description: a payload's description is compared, never trusted."""
    from chalicelib.vendors.handlers import toolbox

    payload = WorkerPayload.parse(event)
    if payload.description is not None:
        stored = wiring.task_store().get(payload.task_id)
        if stored is not None and stored.description != payload.description:
            log.warning("task %s: the payload's description differs from the stored one; the stored one is used",
                        payload.task_id)
    return service().run_worker(payload.task_id, wiring.agent(), tools=toolbox,
                                deadline=agent_deadline(remaining_ms, get_settings().task_worker_timeout_seconds))


#: Tasks by status are counted over tasks created in this window (a task is never active for
#: longer than TASK_DEADLINE_SECONDS, so every active task is inside it).
STATUS_WINDOW = timedelta(hours=24)


def run_sweeper() -> dict[str, Any]:
    """The scheduled sweep, then EMF metrics: ``TasksReinvoked`` (lost invocations sent again,
    and stale claims re-invoked to resume),
    ``TasksStuck`` (marked error by this run) and ``Tasks`` per ``status`` over the last 24 hours."""
    stats = service().sweep()
    observability.put_metrics("task sweeper run", {"handler": "task_sweeper"},
                              {"TasksStuck": (stats.get("expired", 0), "Count"),
                               "TasksReinvoked": (stats.get("reinvoked", 0), "Count")})
    since = iso(utcnow() - STATUS_WINDOW)  # as created_at
    counts = wiring.task_store().count_by_status(since)
    for status, count in counts.items():
        observability.put_metrics("tasks by status", {"status": status}, {"Tasks": (count, "Count")})
    return {**stats, "by_status": counts}
