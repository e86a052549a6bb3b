"""Tasks in SQL (the embedded PostgreSQL locally; portable to MySQL/MariaDB)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Engine,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from chalicelib.db.schema import metadata
from chalicelib.paging import CURSOR_MESSAGE, PLAIN
from chalicelib.tasks.model import ACTIVE, STATUSES, Change, Page, Task
from chalicelib.tasks.store import BadCursor, TaskExists
from chalicelib.timeutil import now_iso

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("owner", String(128), nullable=False),
    Column("description", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("agent_response", Text),
    Column("vendors", JSON, nullable=False),
    Column("quotes", JSON, nullable=False),
    Column("emails_sent", Integer, nullable=False, default=0),
    Column("events", JSON, nullable=False),
    Column("error_message", Text),
    Column("provider_used", String(32)),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("version", Integer, nullable=False, default=0),
    Column("claim", Integer, nullable=False, default=0, server_default="0"),
    Column("claimed_at", String(32)),
    Index("ix_tasks_owner_created", "owner", "created_at"),
    Index("ix_tasks_status_created", "status", "created_at"),
)

_FIELDS = ("agent_response", "vendors", "quotes", "emails_sent", "error_message", "provider_used")
MAX_CONFLICT_RETRIES = 20


def _row_to_task(row: Any) -> Task:
    m = row._mapping
    return Task(
        id=m["id"], owner=m["owner"], description=m["description"], status=m["status"],
        agent_response=m["agent_response"], vendors=list(m["vendors"] or []), quotes=list(m["quotes"] or []),
        emails_sent=m["emails_sent"] or 0, events=list(m["events"] or []), error_message=m["error_message"],
        provider_used=m["provider_used"], created_at=m["created_at"], updated_at=m["updated_at"],
        version=m["version"], claim=m["claim"] or 0, claimed_at=m["claimed_at"],
    )


class SqlTaskStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, task: Task) -> Task:
        values = {**task.to_api(), "owner": task.owner, "version": 0, "claim": 0}
        try:
            with self._engine.begin() as connection:
                connection.execute(tasks.insert().values(**values))
        except IntegrityError:
            existing = self.get(task.id)
            if existing is None or existing.owner != task.owner:
                raise
            raise TaskExists(existing) from None
        return task

    def get(self, task_id: str, owner: str | None = None) -> Task | None:
        query = select(tasks).where(tasks.c.id == task_id)
        if owner is not None:
            query = query.where(tasks.c.owner == owner)
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        return _row_to_task(row) if row else None

    def list(self, owner: str, limit: int, cursor: str | None = None) -> Page:
        query = select(tasks).where(tasks.c.owner == owner)
        if cursor:
            position = PLAIN.decode(cursor)
            if not (isinstance(position, list) and len(position) == 2):
                raise BadCursor(CURSOR_MESSAGE)
            created_at, task_id = str(position[0]), str(position[1])
            query = query.where(or_(tasks.c.created_at < created_at,
                                    and_(tasks.c.created_at == created_at, tasks.c.id < task_id)))
        query = query.order_by(tasks.c.created_at.desc(), tasks.c.id.desc()).limit(limit + 1)
        with self._engine.connect() as connection:
            rows = [_row_to_task(r) for r in connection.execute(query)]
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(rows, PLAIN.encode([rows[-1].created_at, rows[-1].id]) if more and rows else None)

    def apply(self, task_id: str, change: Change) -> Task | None:
        """Optimistic concurrency: re-read and retry when another writer got in first, so
        both writers' events survive; give up (None) once the status (or the claim) is no
        longer expected. The version in the WHERE makes the re-read's checks atomic."""
        for _ in range(MAX_CONFLICT_RETRIES):
            current = self.get(task_id)
            if current is None or current.status not in change.expect:
                return None
            if change.claim is not None and current.claim != change.claim:
                return None
            now = now_iso()
            values: dict[str, Any] = {
                "events": [*current.events, change.event],
                "updated_at": now,
                "version": current.version + 1,
            }
            if change.status:
                values["status"] = change.status
            if change.take_claim:
                values.update(claim=current.claim + 1, claimed_at=now)
            values.update({k: v for k, v in change.fields.items() if k in _FIELDS})
            statement = (update(tasks)
                         .where(tasks.c.id == task_id, tasks.c.version == current.version,
                                tasks.c.status.in_(change.expect))
                         .values(**values))
            with self._engine.begin() as connection:
                applied = connection.execute(statement).rowcount == 1
            if applied:
                return self.get(task_id)
        raise RuntimeError(f"task {task_id}: too many concurrent updates")

    def overdue(self, created_before: str, limit: int = 100) -> list[Task]:
        query = (select(tasks).where(tasks.c.status.in_(ACTIVE), tasks.c.created_at < created_before)
                 .order_by(tasks.c.created_at).limit(limit))
        with self._engine.connect() as connection:
            return [_row_to_task(r) for r in connection.execute(query)]

    def count_by_status(self, created_after: str) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(tasks.c.status, func.count()).where(tasks.c.created_at > created_after).group_by(tasks.c.status)
            ).all()
        counts.update({status: int(count) for status, count in rows})
        return counts
