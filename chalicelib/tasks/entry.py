"""What app.py's task handlers call: the service wired for this stage."""

from __future__ import annotations

from typing import Any

from chalicelib import wiring
from chalicelib.settings import get_settings
from chalicelib.tasks.service import TaskService


def service() -> TaskService:
    settings = get_settings()
    return TaskService(
        wiring.task_store(), wiring.invoker(), settings.worker_lambda_arn or "task_worker",
        deadline_seconds=settings.task_deadline_seconds,
        max_description_chars=settings.task_description_max_chars,
    )


def run_worker(event: dict[str, Any]) -> dict[str, Any]:
    task_id = event.get("task_id") if isinstance(event, dict) else None
    if not isinstance(task_id, str) or not task_id:
        raise ValueError("worker event must be {\"task_id\": \"...\"}")
    return service().run_worker(task_id, wiring.agent())
