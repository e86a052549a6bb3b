"""The task store interface; SQL and DynamoDB implement it with the same guarantees:
owner enforced on every read, conditional transitions, events never lost to a race."""

from __future__ import annotations

from typing import Protocol

from chalicelib.paging import BadCursor
from chalicelib.tasks.model import Change, Page, Task


class TaskExists(Exception):
    """``create`` found a task with the same id (an Idempotency-Key replay); carries it."""

    def __init__(self, task: Task) -> None:
        super().__init__(task.id)
        self.task = task


#: ``list`` raises :class:`BadCursor` (from :mod:`chalicelib.paging`) for a cursor it did not issue.
__all__ = ["BadCursor", "TaskExists", "TaskStore"]


class TaskStore(Protocol):
    def create(self, task: Task) -> Task:
        """Insert; raise :class:`TaskExists` when the id is taken by the same owner."""
        ...

    def get(self, task_id: str, owner: str | None = None) -> Task | None:
        """The task, or None when absent or (with ``owner``) owned by someone else."""
        ...

    def list(self, owner: str, limit: int, cursor: str | None = None) -> Page:
        """The owner's tasks, newest first."""
        ...

    def apply(self, task_id: str, change: Change) -> Task | None:
        """Apply ``change`` atomically if the status is still expected; None when it is not."""
        ...

    def overdue(self, created_before: str, limit: int = 100) -> list[Task]:
        """Tasks still pending or processing that were created before the cutoff."""
        ...

    def count_by_status(self, created_after: str) -> dict[str, int]:
        """How many tasks created after the cutoff are in each status (every status present)."""
        ...
