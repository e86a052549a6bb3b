"""A durable delivery queue in one SQLite file, shared by several processes.

The ``chalice local`` HTTP process enqueues; one or more runtime processes claim rows with an
atomic ``UPDATE ... RETURNING`` that takes a lease. A lease that expires (the runtime crashed)
is reclaimed and counts as an attempt. Retries follow Lambda's async sources: up to
``max_attempts`` (3) in total with backoff, then ``failed`` with ``last_error`` kept.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Kind = Literal["s3", "event", "schedule", "invoke"]
Status = Literal["queued", "running", "succeeded", "failed"]
KINDS: tuple[str, ...] = ("s3", "event", "schedule", "invoke")
STATUSES: tuple[str, ...] = ("queued", "running", "succeeded", "failed")

DEFAULT_BACKOFF: tuple[float, ...] = (1.0, 2.0)
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_LEASE_SECONDS = 900.0
#: A handler's return value is kept as JSON up to this many characters (``make fire`` prints it).
MAX_RESULT_CHARS = 100_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'queued',
    next_attempt_at REAL NOT NULL,
    lease_token TEXT,
    lease_expires_at REAL,
    last_error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL,
    result TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS schedules (
    name TEXT PRIMARY KEY,
    last_fire_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS heartbeats (
    name TEXT PRIMARY KEY,
    at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Delivery:
    """One event on its way to one handler."""

    id: str
    kind: str
    target: str
    payload: dict[str, Any]
    attempts: int
    status: str
    next_attempt_at: float
    last_error: str | None
    created_at: float
    updated_at: float
    finished_at: float | None = None
    lease_token: str | None = None
    result: str | None = None  # the handler's return value as JSON, once it succeeded

    @classmethod
    def _from_row(cls, row: sqlite3.Row) -> Delivery:
        return cls(
            id=row["id"],
            kind=row["kind"],
            target=row["target"],
            payload=json.loads(row["payload"]),
            attempts=row["attempts"],
            status=row["status"],
            next_attempt_at=row["next_attempt_at"],
            last_error=row["last_error"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            finished_at=row["finished_at"],
            lease_token=row["lease_token"],
            result=row["result"],
        )


class DeliveryQueue:
    """Deliveries and schedule state in one SQLite file (WAL), safe across processes."""

    def __init__(
        self,
        path: str | Path,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff: Sequence[float] = DEFAULT_BACKOFF,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.path = Path(path)
        self.max_attempts = max_attempts
        self.backoff = tuple(float(b) for b in backoff) or (0.0,)
        self.lease_seconds = lease_seconds
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            columns = {row["name"] for row in conn.execute("PRAGMA table_info(deliveries)")}
            if "result" not in columns:  # a queue file from before results were kept
                conn.execute("ALTER TABLE deliveries ADD COLUMN result TEXT")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- producing -------------------------------------------------------------------------

    def enqueue(self, kind: str, target: str, payload: dict[str, Any], *, delay: float = 0.0) -> str:
        """Queue one delivery of ``payload`` (the raw Lambda event) to handler ``target``."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        delivery_id = uuid.uuid4().hex
        now = self.clock()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO deliveries (id, kind, target, payload, next_attempt_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (delivery_id, kind, target, json.dumps(payload), now + delay, now, now),
            )
        return delivery_id

    # -- consuming -------------------------------------------------------------------------

    def claim(self) -> Delivery | None:
        """Lease the oldest due delivery (or one whose lease expired) and count an attempt."""
        now = self.clock()
        token = uuid.uuid4().hex
        with self._transaction() as conn:
            self._reclaim_expired(conn, now)
            row = conn.execute(
                "UPDATE deliveries SET status='running', lease_token=?, lease_expires_at=?,"
                " attempts=attempts+1, updated_at=?"
                " WHERE seq = (SELECT seq FROM deliveries WHERE status='queued' AND next_attempt_at<=?"
                " ORDER BY next_attempt_at, seq LIMIT 1)"
                " RETURNING *",
                (token, now + self.lease_seconds, now, now),
            ).fetchone()
        return Delivery._from_row(row) if row else None

    def _reclaim_expired(self, conn: sqlite3.Connection, now: float) -> None:
        error = "lease expired: the runtime delivering it stopped or timed out"
        conn.execute(
            "UPDATE deliveries SET status='failed', lease_token=NULL, last_error=?, updated_at=?,"
            " finished_at=? WHERE status='running' AND lease_expires_at<? AND attempts>=?",
            (error, now, now, now, self.max_attempts),
        )
        conn.execute(
            "UPDATE deliveries SET status='queued', lease_token=NULL, last_error=?, updated_at=?,"
            " next_attempt_at=? WHERE status='running' AND lease_expires_at<?",
            (error, now, now, now),
        )

    def succeed(self, delivery: Delivery, result: Any = None) -> bool:
        """Mark a claimed delivery done, keeping the handler's ``result`` as JSON; False if the
        lease was lost to another runtime."""
        now = self.clock()
        stored = None if result is None else _result_json(result)
        with self._connect() as conn:
            cur = conn.execute(
                "UPDATE deliveries SET status='succeeded', lease_token=NULL, updated_at=?, finished_at=?,"
                " result=? WHERE id=? AND lease_token=?",
                (now, now, stored, delivery.id, delivery.lease_token),
            )
        return cur.rowcount == 1

    def fail(self, delivery: Delivery, error: str) -> str:
        """Record a failed attempt: requeue with backoff, or ``failed`` after the last one.

        Returns the new status (``queued`` or ``failed``), or ``lost`` if the lease was lost."""
        now = self.clock()
        if delivery.attempts >= self.max_attempts:
            status, next_at, finished = "failed", now, now
        else:
            delay = self.backoff[min(delivery.attempts - 1, len(self.backoff) - 1)]
            status, next_at, finished = "queued", now + delay, None
        with self._connect() as conn:
            cur = conn.execute(
                "UPDATE deliveries SET status=?, next_attempt_at=?, last_error=?, lease_token=NULL,"
                " updated_at=?, finished_at=? WHERE id=? AND lease_token=?",
                (status, next_at, error, now, finished, delivery.id, delivery.lease_token),
            )
        return status if cur.rowcount == 1 else "lost"

    # -- inspecting ------------------------------------------------------------------------

    def get(self, delivery_id: str) -> Delivery:
        """One delivery by id; KeyError when absent."""
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM deliveries WHERE id=?", (delivery_id,)).fetchone()
        if row is None:
            raise KeyError(f"no delivery {delivery_id!r}")
        return Delivery._from_row(row)

    def list(self, status: str | None = None, limit: int = 200, *, offset: int = 0,
             newest_first: bool = False) -> list[Delivery]:
        """Deliveries in the order they were queued (``newest_first`` reverses it), optionally
        with one status; ``limit`` of them after skipping ``offset``."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        query = "SELECT * FROM deliveries"
        params: tuple[Any, ...] = ()
        if status:
            query += " WHERE status=?"
            params = (status,)
        query += f" ORDER BY seq {'DESC' if newest_first else 'ASC'} LIMIT ? OFFSET ?"
        with self._connect() as conn:
            rows = conn.execute(query, (*params, max(0, limit), max(0, offset))).fetchall()
        return [Delivery._from_row(r) for r in rows]

    def failed_deliveries(self) -> list[Delivery]:
        """Deliveries that used up their attempts, with ``last_error``."""
        return self.list("failed", limit=10_000)

    def counts(self) -> dict[str, int]:
        """Number of deliveries per status."""
        with self._connect() as conn:
            rows = conn.execute("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status").fetchall()
        return {s: 0 for s in STATUSES} | {r["status"]: r["n"] for r in rows}

    def next_due_at(self) -> float | None:
        """When the earliest queued delivery becomes due (None if nothing is queued)."""
        with self._connect() as conn:
            row = conn.execute("SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE status='queued'").fetchone()
        return row["t"]

    def retry(self, delivery_id: str) -> Delivery:
        """Requeue a failed delivery now with a fresh set of attempts."""
        now = self.clock()
        with self._connect() as conn:
            cur = conn.execute(
                "UPDATE deliveries SET status='queued', attempts=0, next_attempt_at=?, updated_at=?,"
                " finished_at=NULL WHERE id=? AND status='failed'",
                (now, now, delivery_id),
            )
        if cur.rowcount != 1:
            current = self.get(delivery_id)
            raise ValueError(f"delivery {delivery_id} is {current.status}, only failed deliveries can be retried")
        return self.get(delivery_id)

    # -- liveness --------------------------------------------------------------------------

    def beat(self, name: str = "runtime") -> None:
        """Record that a runtime delivering from this queue is alive now."""
        with self._connect() as conn:
            conn.execute("INSERT INTO heartbeats (name, at) VALUES (?, ?)"
                         " ON CONFLICT (name) DO UPDATE SET at = excluded.at", (name, self.clock()))

    def last_beat(self, name: str = "runtime") -> float | None:
        """When a runtime last said it was alive (epoch seconds), or None."""
        with self._connect() as conn:
            row = conn.execute("SELECT at FROM heartbeats WHERE name=?", (name,)).fetchone()
        return None if row is None else row["at"]

    # -- schedule state --------------------------------------------------------------------

    def schedule_last_fire(self, name: str) -> float | None:
        """When schedule ``name`` last fired (epoch seconds), or None if never recorded."""
        with self._connect() as conn:
            row = conn.execute("SELECT last_fire_at FROM schedules WHERE name=?", (name,)).fetchone()
        return None if row is None else row["last_fire_at"]

    def init_schedule(self, name: str, at: float) -> float:
        """Record ``at`` as the baseline of a schedule seen for the first time; return the stored value."""
        with self._transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO schedules (name, last_fire_at) VALUES (?, ?)", (name, at))
            row = conn.execute("SELECT last_fire_at FROM schedules WHERE name=?", (name,)).fetchone()
        return row["last_fire_at"]

    def advance_schedule(
        self,
        name: str,
        expected_last: float,
        new_last: float,
        payload: dict[str, Any] | None = None,
        target: str | None = None,
    ) -> str | None:
        """Compare-and-set the last fire time and, in the same transaction, enqueue ``payload``
        for handler ``target`` (default ``name``).

        Only one of several runtimes wins a given fire; returns the delivery id or None."""
        now = self.clock()
        with self._transaction() as conn:
            cur = conn.execute(
                "UPDATE schedules SET last_fire_at=? WHERE name=? AND last_fire_at=?",
                (new_last, name, expected_last),
            )
            if cur.rowcount != 1 or payload is None:
                return None
            delivery_id = uuid.uuid4().hex
            conn.execute(
                "INSERT INTO deliveries (id, kind, target, payload, next_attempt_at, created_at, updated_at)"
                " VALUES (?, 'schedule', ?, ?, ?, ?, ?)",
                (delivery_id, target or name, json.dumps(payload), now, now, now),
            )
        return delivery_id


def _result_json(result: Any) -> str:
    text = json.dumps(result, default=str)
    if len(text) > MAX_RESULT_CHARS:
        return json.dumps({"truncated": True, "first_chars": text[:MAX_RESULT_CHARS]})
    return text


def failed_deliveries(path: str | Path) -> list[Delivery]:
    """Failed deliveries recorded in the queue file at ``path``."""
    return DeliveryQueue(path).failed_deliveries()
