"""A task, its statuses and the moves allowed between them, its timeline events, and the conditional
changes the stores apply."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from chalicelib.statuses import Transitions
from chalicelib.timeutil import now_iso


class TaskStatus(StrEnum):
    """``status`` of a task (a ``str``, so the API, the column and the DynamoDB item hold the plain value)."""

    #: Created; its worker has not claimed it yet.
    PENDING = "pending"
    #: A worker holds its claim and runs the agent.
    PROCESSING = "processing"
    #: The agent finished; its outcome is recorded.
    COMPLETED = "completed"
    #: Failed for good (refused, deadline passed, worker lost past its re-invocations).
    ERROR = "error"


PENDING, PROCESSING, COMPLETED, ERROR = TaskStatus
STATUSES = tuple(TaskStatus)
ACTIVE = (PENDING, PROCESSING)

#: Where each status may go. A worker claims a pending task; a worker that finds a stale claim
#: takes it over (``PROCESSING -> PROCESSING``, a new claim); a claimant completes or fails it, or
#: hands it back when the agent call was interrupted (``PROCESSING -> PENDING``: the retried
#: invocation claims it again and resumes the same agent session);
#: the sweeper fails overdue tasks from either active status; an agent that finishes after its
#: task was failed for the deadline still records its outcome (``ERROR -> COMPLETED``, with a
#: warning). Completed is final.
TRANSITIONS: Transitions[TaskStatus] = Transitions(TaskStatus, {
    TaskStatus.PENDING: frozenset({TaskStatus.PROCESSING, TaskStatus.ERROR}),
    TaskStatus.PROCESSING: frozenset({TaskStatus.PENDING, TaskStatus.PROCESSING, TaskStatus.COMPLETED,
                                       TaskStatus.ERROR}),
    TaskStatus.COMPLETED: frozenset(),
    TaskStatus.ERROR: frozenset({TaskStatus.COMPLETED}),
})

# The seed's timeline messages.
MSG_CREATED = "Task created"
MSG_INVOKED = "Worker Lambda invoked - processing started"
MSG_STARTED = "Agent processing started"
MSG_COMPLETED = "Agent completed task successfully"

_IDEMPOTENCY_NAMESPACE = uuid.UUID("8d3b0f5e-4c59-4f0c-a3e2-5f1f4c8a9b21")

#: A timeline entry's state for the service, beside what clients see (``ts``, ``message``,
#: ``type``): keys starting with "_" are stored but never sent (see :func:`public_event`).
REINVOCATION = "_reinvocation"
#: On a worker's takeover of a stale claim: the resume's number (1 for the first).
RESUMED = "_resumed"
#: On the sweeper's re-invocation for a stale claim: the claim it found stale.
STALE_CLAIM = "_stale_claim"


def event(message: str, kind: str = "info", *, reinvocation: int | None = None, resumed: int | None = None,
          stale_claim: int | None = None) -> dict[str, Any]:
    """A timeline entry; ``reinvocation`` numbers a sweeper's re-invocation of the worker,
    ``resumed`` a worker's resume after another stopped, ``stale_claim`` the claim a sweeper
    re-invoked the worker for."""
    entry: dict[str, Any] = {"ts": now_iso(), "message": message, "type": kind}
    for key, value in ((REINVOCATION, reinvocation), (RESUMED, resumed), (STALE_CLAIM, stale_claim)):
        if value is not None:
            entry[key] = value
    return entry


def public_event(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry as clients see it (state keys dropped)."""
    return {key: value for key, value in entry.items() if not key.startswith("_")}


def new_task_id(owner: str, idempotency_key: str | None) -> str:
    """A fresh id, or with an Idempotency-Key one derived from (owner, key): a replay of the
    same request maps to the same task in every store, with no extra index."""
    if idempotency_key:
        return str(uuid.uuid5(_IDEMPOTENCY_NAMESPACE, f"{owner}\n{idempotency_key}"))
    return str(uuid.uuid4())


@dataclass
class Task:
    id: str
    owner: str
    description: str
    status: str = PENDING
    agent_response: str | None = None
    vendors: list[Any] = field(default_factory=list)
    quotes: list[Any] = field(default_factory=list)
    emails_sent: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    error_message: str | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    provider_used: str | None = None
    version: int = 0
    #: The worker's claim: numbered 1, 2, ... each time a worker takes the task (pending to
    #: processing, or a takeover of a stale claim), and when (server-side state, not in the API).
    claim: int = 0
    claimed_at: str | None = None

    @property
    def reinvocations(self) -> int:
        """How often the sweeper has re-invoked the worker for this task (a timeline field)."""
        return sum(1 for entry in self.events if entry.get(REINVOCATION))

    @property
    def resumes(self) -> int:
        """How often a worker has taken over the claim of one that stopped (a timeline field)."""
        return sum(1 for entry in self.events if entry.get(RESUMED))

    def stale_claim_reinvoked_at(self) -> str | None:
        """When the sweeper last re-invoked the worker for the current claim (None: never)."""
        times = [e["ts"] for e in self.events if e.get(STALE_CLAIM) == self.claim and self.claim]
        return max(times) if times else None

    def to_api(self) -> dict[str, Any]:
        """The seed's GET /tasks/{id} shape (the owner stays server-side)."""
        return {
            "id": self.id, "description": self.description, "status": self.status,
            "agent_response": self.agent_response, "vendors": self.vendors, "quotes": self.quotes,
            "emails_sent": self.emails_sent, "events": [public_event(e) for e in self.events], "error_message": self.error_message,
            "provider_used": self.provider_used, "created_at": self.created_at, "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class WorkerPayload:
    """The task worker's async invocation payload, built and parsed only here: the task to run
    (``user_id`` names its owner in the log only; the worker reads the owner from the store).
    The original worker's ``{"task_id", "description"}`` payload is accepted too; the stored
    description is always the one the agent gets."""

    task_id: str
    user_id: str = ""
    description: str | None = None

    @classmethod
    def for_task(cls, task: Task) -> WorkerPayload:
        return cls(task_id=task.id, user_id=task.owner)

    def to_payload(self) -> dict[str, str]:
        return {"task_id": self.task_id, "user_id": self.user_id}

    @classmethod
    def parse(cls, event: Any) -> WorkerPayload:
        """Raise ValueError for anything but ``{"task_id": "<non-empty string>", ...}``."""
        task_id = event.get("task_id") if isinstance(event, dict) else None
        if not isinstance(task_id, str) or not task_id:
            raise ValueError('worker event must be {"task_id": "..."} or {"task_id": "...", "description": "..."}')
        user_id, description = event.get("user_id"), event.get("description")
        return cls(task_id=task_id, user_id=user_id if isinstance(user_id, str) else "",
                   description=description if isinstance(description, str) else None)


@dataclass(frozen=True)
class Change:
    """A conditional transition: applies only while the task's status is in ``expect`` (and,
    with ``claim``, only while the task's claim is still that one). ``take_claim`` makes the
    transition a new claim: its number goes up by one and ``claimed_at`` is now."""

    expect: tuple[str, ...]
    event: dict[str, Any]
    status: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    claim: int | None = None
    take_claim: bool = False

    def __post_init__(self) -> None:
        """A change of status must be a move :data:`TRANSITIONS` allows from every expected status."""
        if self.status is None:
            return
        target = TaskStatus(self.status)
        refused = [source for source in map(TaskStatus, self.expect) if not TRANSITIONS.allows(source, target)]
        if refused:
            raise ValueError(f"a task may not move from {', '.join(refused)} to {target}")


@dataclass(frozen=True)
class Page:
    tasks: list[Task]
    cursor: str | None
