"""All SQL on the pages tables: activity, the generation queue's claims and leases, the cache,
the miss counters. Rows leave as the frozen objects of :mod:`chalicelib.pages.model`.

Claims are conditional UPDATEs with a claim token and a lease, portable to PostgreSQL and
MySQL/MariaDB: a job is processed by one claimant at a time, a crashed claimant's job is taken
back when its lease expires, and completing or failing a job requires still holding its token
(so a stale run that finishes a reclaimed job changes nothing)."""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError, OperationalError

from chalicelib.pages.model import (
    REQUEST_PATTERN,
    Activity,
    ActivityEvent,
    CachedPage,
    GeneratedPage,
    GenerationJob,
    JobStatus,
    cache_key,
    sources_of,
)
from chalicelib.pages.tables import (
    activity_log,
    activity_requests,
    generation_queue,
    page_cache,
    page_miss_counts,
)
from chalicelib.timeutil import utcnow_naive

MAX_ATTEMPTS = 3  # a generation job is claimed at most this often, then marked failed
CACHE_VALIDITY = timedelta(minutes=30)
RETRY_DELAY = timedelta(seconds=60)
#: How long an activity batch's Idempotency-Key is remembered.
IDEMPOTENCY_WINDOW = timedelta(hours=24)


def _may_move_to(target: JobStatus) -> Any:
    """The guard of a move to ``target``: the job's status is one it may be reached from."""
    return generation_queue.c.status.in_(sources_of(target))


def _is_deadlock(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "args", [None])[0]
    return code in (1205, 1213) or getattr(exc.orig, "pgcode", None) in ("40P01", "40001")


def _claimable(now: datetime, *, ignore_retry_delay: bool = False) -> Any:
    """Queued (and past its retry delay, if any), or processing with an expired lease. A user
    waiting for the page (``ignore_retry_delay``) may take a queued job before its delay ends."""
    lease = generation_queue.c.lease_expires_at
    queued = generation_queue.c.status == JobStatus.QUEUED
    if not ignore_retry_delay:
        queued = and_(queued, or_(lease.is_(None), lease < now))
    return and_(generation_queue.c.attempts < MAX_ATTEMPTS,
                or_(queued, and_(generation_queue.c.status == JobStatus.PROCESSING, lease < now)))


def _upsert_page(connection: Any, key: str, row: dict[str, Any]) -> None:
    """Insert or replace a page_cache row in one statement (no gap-lock races on MySQL)."""
    if connection.dialect.name == "mysql":
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        statement = mysql_insert(page_cache).values(cache_key=key, **row)
        connection.execute(statement.on_duplicate_key_update(**row))
    elif connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement = pg_insert(page_cache).values(cache_key=key, **row)
        connection.execute(statement.on_conflict_do_update(index_elements=["cache_key"], set_=row))
    else:
        if connection.execute(update(page_cache).where(page_cache.c.cache_key == key).values(**row)).rowcount == 0:
            connection.execute(insert(page_cache).values(cache_key=key, **row))


class PagesRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # --- activity -----------------------------------------------------------------------------

    def record_activity(self, user_id: str, events: list[Activity],
                        idempotency_key: str | None = None) -> tuple[int, bool]:
        """Store a batch; returns (events accepted, replayed). With an ``idempotency_key`` the key
        and the events are written in one transaction, so a retried batch stores nothing twice and
        answers the first one's count."""
        now = utcnow_naive()
        rows = [{"user_id": user_id, "page": e.page, "intent": e.intent, "action": e.action,
                 "metadata": e.metadata or {}, "occurred_at": e.occurred_at or now, "created_at": now}
                for e in events]
        try:
            with self._engine.begin() as connection:
                if idempotency_key is not None:
                    connection.execute(insert(activity_requests).values(
                        user_id=user_id, idempotency_key=idempotency_key, accepted=len(rows), created_at=now))
                connection.execute(insert(activity_log), rows)
        except IntegrityError:
            if idempotency_key is None:
                raise
            with self._engine.connect() as connection:
                accepted = connection.execute(select(activity_requests.c.accepted).where(
                    activity_requests.c.user_id == user_id,
                    activity_requests.c.idempotency_key == idempotency_key)).scalar_one_or_none()
            if accepted is None:  # the first request's transaction rolled back meanwhile: try once more
                return self.record_activity(user_id, events, idempotency_key)
            return accepted, True
        return len(rows), False

    def forget_activity_keys(self, older_than: timedelta = IDEMPOTENCY_WINDOW) -> int:
        """Delete the Idempotency-Keys of activity batches older than ``older_than``."""
        with self._engine.begin() as connection:
            return connection.execute(delete(activity_requests).where(
                activity_requests.c.created_at < utcnow_naive() - older_than)).rowcount

    def user_activity(self, user_id: str, since: datetime, limit: int = 500) -> list[ActivityEvent]:
        """One user's most recent ``limit`` events since ``since``, oldest first."""
        query = (select(activity_log)
                 .where(activity_log.c.user_id == user_id, activity_log.c.occurred_at >= since)
                 .order_by(activity_log.c.occurred_at.desc(), activity_log.c.id.desc()).limit(limit))
        with self._engine.connect() as connection:
            events = [ActivityEvent.from_row(r._mapping) for r in connection.execute(query)]
        return events[::-1]

    def activity_by_user(self, since: datetime, *, page_rows: int = 5000,
                         per_user: int = 2000) -> Iterator[list[ActivityEvent]]:
        """Every user's events since ``since`` (their last ``per_user``, oldest first), one user at
        a time. Reads in keyset pages of ``page_rows`` ordered by (user_id, occurred_at, id), so
        memory is bounded and no user is cut off however much activity the window holds."""
        order = (activity_log.c.user_id, activity_log.c.occurred_at, activity_log.c.id)
        after: tuple[Any, ...] | None = None
        current: str | None = None
        events: deque[ActivityEvent] = deque(maxlen=per_user)
        while True:
            query = select(activity_log).where(activity_log.c.occurred_at >= since)
            if after is not None:
                query = query.where(tuple_(*order) > tuple_(*after))
            with self._engine.connect() as connection:
                rows = [ActivityEvent.from_row(r._mapping)
                        for r in connection.execute(query.order_by(*order).limit(page_rows))]
            for event in rows:
                if event.user_id != current:
                    if events:
                        yield list(events)
                        events.clear()
                    current = event.user_id
                events.append(event)
            if len(rows) < page_rows:
                break
            after = (rows[-1].user_id, rows[-1].occurred_at, rows[-1].id)
        if events:
            yield list(events)

    def activity_names(self, user_id: str, since: datetime, limit: int = 2000) -> list[tuple[str | None, str | None]]:
        """The distinct (page, intent) pairs of one user's activity since ``since``."""
        query = (select(activity_log.c.page, activity_log.c.intent).distinct()
                 .where(activity_log.c.user_id == user_id, activity_log.c.occurred_at >= since).limit(limit))
        with self._engine.connect() as connection:
            return [(page, intent) for page, intent in connection.execute(query)]

    # --- cache --------------------------------------------------------------------------------

    def fresh_page(self, key: str) -> CachedPage | None:
        query = select(page_cache).where(page_cache.c.cache_key == key, page_cache.c.expires_at > utcnow_naive())
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        return CachedPage.from_row(row._mapping) if row else None

    def fresh_pages(self, user_id: str) -> list[CachedPage]:
        query = (select(page_cache).where(page_cache.c.user_id == user_id, page_cache.c.expires_at > utcnow_naive())
                 .order_by(page_cache.c.relevance_score.desc(), page_cache.c.page_type))
        with self._engine.connect() as connection:
            return [CachedPage.from_row(r._mapping) for r in connection.execute(query)]

    # --- queue --------------------------------------------------------------------------------

    def enqueue(self, user_id: str, page_type: str, confidence: float, pattern: dict[str, Any]) -> bool:
        """Queue a prediction unless a job for its key is queued/processing or the page is fresh."""
        key = cache_key(user_id, page_type)
        if self.fresh_page(key):
            return False
        now = utcnow_naive()
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(generation_queue).values(
                    id=str(uuid.uuid4()), user_id=user_id, page_type=page_type, cache_key=key, active_key=key,
                    status=JobStatus.QUEUED, confidence=confidence, pattern=pattern, attempts=0, created_at=now,
                    updated_at=now))
        except IntegrityError:
            return False  # one is already queued or processing for this key
        return True

    def _job(self, job_id: str) -> GenerationJob | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(generation_queue).where(generation_queue.c.id == job_id)).first()
        return GenerationJob.from_row(row._mapping) if row else None

    def _take(self, job_id: str, token: str, lease: timedelta, now: datetime,
              *, ignore_retry_delay: bool = False) -> GenerationJob | None:
        statement = (update(generation_queue)
                     .where(generation_queue.c.id == job_id, _claimable(now, ignore_retry_delay=ignore_retry_delay))
                     .values(status=JobStatus.PROCESSING, claim_token=token, lease_expires_at=now + lease,
                             attempts=generation_queue.c.attempts + 1, updated_at=now))
        try:
            with self._engine.begin() as connection:
                if connection.execute(statement).rowcount != 1:
                    return None
        except OperationalError as exc:
            if _is_deadlock(exc):
                return None  # another claimant won this row; try the next one
            raise
        job = self._job(job_id)
        return job if job and job.claim_token == token else None

    def claim_next(self, token: str, lease: timedelta) -> GenerationJob | None:
        """Claim the oldest claimable job (queued, or processing with an expired lease)."""
        for _ in range(10):
            now = utcnow_naive()
            query = (select(generation_queue.c.id).where(_claimable(now))
                     .order_by(generation_queue.c.created_at).limit(10))
            with self._engine.connect() as connection:
                ids = [r[0] for r in connection.execute(query)]
            if not ids:
                return None
            for job_id in ids:
                job = self._take(job_id, token, lease, now)
                if job:
                    return job
        return None

    def claim_for_page(self, user_id: str, page_type: str, token: str, lease: timedelta) -> GenerationJob | None:
        """Claim generation of one page for a request: take its job (queued, even in its retry
        delay, or processing under an expired lease) or create one. None when someone else holds
        a live claim (their generation will fill the cache)."""
        key = cache_key(user_id, page_type)
        now = utcnow_naive()
        existing = self.active_job(key)
        if existing:
            return self._take(existing.id, token, lease, now, ignore_retry_delay=True)
        job_id = str(uuid.uuid4())
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(generation_queue).values(
                    id=job_id, user_id=user_id, page_type=page_type, cache_key=key, active_key=key,
                    status=JobStatus.PROCESSING, confidence=0.0, pattern=dict(REQUEST_PATTERN), attempts=1,
                    claim_token=token, lease_expires_at=now + lease, created_at=now, updated_at=now))
        except IntegrityError:
            return None
        return self._job(job_id)

    def active_job(self, key: str) -> GenerationJob | None:
        """The job queued or processing for cache key ``key`` (at most one: ``active_key`` is unique)."""
        with self._engine.connect() as connection:
            row = connection.execute(select(generation_queue).where(generation_queue.c.active_key == key)).first()
        return GenerationJob.from_row(row._mapping) if row else None

    def complete(self, job: GenerationJob, token: str, page: GeneratedPage) -> bool:
        """Mark the job completed and upsert its page, in one transaction, only if ``token`` still
        holds the claim. Returns False (and writes nothing) for a stale claimant."""
        for attempt in range(5):
            try:
                return self._complete_once(job, token, page)
            except OperationalError as exc:
                if not _is_deadlock(exc) or attempt == 4:
                    raise
                time.sleep(0.01 * (attempt + 1))
        return False

    def _complete_once(self, job: GenerationJob, token: str, page: GeneratedPage) -> bool:
        now = utcnow_naive()
        with self._engine.begin() as connection:
            done = connection.execute(
                update(generation_queue)
                .where(generation_queue.c.id == job.id, generation_queue.c.claim_token == token,
                       _may_move_to(JobStatus.COMPLETED))
                .values(status=JobStatus.COMPLETED, active_key=None, lease_expires_at=None, last_error=None, updated_at=now))
            if done.rowcount != 1:
                return False
            row = {"user_id": job.user_id, "page_type": job.page_type, "components": page.components,
                   "relevance_score": page.relevance_score, "provider_used": page.provider_used,
                   "model_used": page.model_used, "generated_at": now, "expires_at": now + CACHE_VALIDITY}
            _upsert_page(connection, job.cache_key, row)
        return True

    def fail(self, job: GenerationJob, token: str, error: str) -> JobStatus | None:
        """Count a failed attempt: requeue (retried after RETRY_DELAY, so by a later run), or
        ``failed`` at MAX_ATTEMPTS. None for a stale claimant."""
        now = utcnow_naive()
        exhausted = job.attempts >= MAX_ATTEMPTS
        status = JobStatus.FAILED if exhausted else JobStatus.QUEUED
        values: dict[str, Any] = {"status": status, "claim_token": None,
                                  "lease_expires_at": None if exhausted else now + RETRY_DELAY,
                                  "last_error": error[:2000], "updated_at": now}
        if exhausted:
            values["active_key"] = None
        with self._engine.begin() as connection:
            result = connection.execute(
                update(generation_queue)
                .where(generation_queue.c.id == job.id, generation_queue.c.claim_token == token, _may_move_to(status))
                .values(**values))
        return status if result.rowcount == 1 else None

    def fail_abandoned(self) -> int:
        """Jobs whose last allowed attempt crashed (lease expired at MAX_ATTEMPTS) become failed."""
        now = utcnow_naive()
        with self._engine.begin() as connection:
            return connection.execute(
                update(generation_queue)
                .where(_may_move_to(JobStatus.FAILED), generation_queue.c.lease_expires_at < now,
                       generation_queue.c.attempts >= MAX_ATTEMPTS)
                .values(status=JobStatus.FAILED, active_key=None, claim_token=None,
                        last_error="lease expired on the last attempt", updated_at=now)).rowcount

    def queue_counts(self) -> dict[str, int]:
        """How many jobs are in each status (statuses with none are absent)."""
        with self._engine.connect() as connection:
            rows = connection.execute(select(generation_queue.c.status, func.count()).group_by(generation_queue.c.status))
            return {status: count for status, count in rows}

    def has_job_or_page(self, user_id: str, page_type: str) -> bool:
        """Whether ``page_type`` was ever queued or cached for this user (a detector prediction)."""
        with self._engine.connect() as connection:
            if connection.execute(select(generation_queue.c.id).where(
                    generation_queue.c.user_id == user_id, generation_queue.c.page_type == page_type).limit(1)).first():
                return True
            return connection.execute(select(page_cache.c.cache_key).where(
                page_cache.c.cache_key == cache_key(user_id, page_type))).first() is not None

    # --- page misses --------------------------------------------------------------------------

    def take_miss(self, user_id: str, limit: int, now: datetime | None = None) -> int:
        """Count one page miss in the user's current minute: 0 when within ``limit``, else the
        seconds until that minute ends (nothing counted). The user's counter row is read and bumped
        under a row lock, so concurrent requests in any container never pass the limit together."""
        now = now or utcnow_naive()
        window = now.replace(second=0, microsecond=0)
        for _ in range(5):  # a concurrent first miss may insert the row between our read and insert
            try:
                with self._engine.begin() as connection:
                    row = connection.execute(select(page_miss_counts).where(
                        page_miss_counts.c.user_id == user_id).with_for_update()).first()
                    if row is None:
                        connection.execute(insert(page_miss_counts).values(
                            user_id=user_id, window_start=window, misses=1))
                        return 0
                    misses = row.misses if row.window_start == window else 0
                    if misses >= limit:
                        return max(1, int((window + timedelta(minutes=1) - now).total_seconds() + 0.999))
                    connection.execute(update(page_miss_counts).where(page_miss_counts.c.user_id == user_id)
                                       .values(window_start=window, misses=misses + 1))
                    return 0
            except IntegrityError:
                continue
            except OperationalError as exc:  # MySQL: two first misses' gap locks deadlock; one is rolled back
                if not _is_deadlock(exc):
                    raise
        raise RuntimeError("page miss counter: concurrent first misses did not settle")
