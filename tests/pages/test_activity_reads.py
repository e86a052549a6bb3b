"""Reading activity back: every user in full for the detector (keyset pages), the most recent
events for a prompt's context, and overlapping detector runs queueing each key once."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from sqlalchemy import select

from chalicelib.pages.detector import StatisticalDetector
from chalicelib.pages.model import Activity
from chalicelib.pages.repository import PagesRepository
from chalicelib.pages.tables import generation_queue
from chalicelib.timeutil import utcnow_naive


def record(engine, user: str, pages: list[str], at) -> None:  # noqa: ANN001
    PagesRepository(engine).record_activity(user, [Activity(page=p, action="view", occurred_at=at) for p in pages])


def test_activity_by_user_pages_through_every_user_in_full(engine) -> None:  # noqa: ANN001
    prefix = f"r-{uuid.uuid4().hex[:6]}"
    users = [f"{prefix}-{i}" for i in range(3)]
    at = utcnow_naive() - timedelta(hours=1)
    for user in users:  # equal timestamps: the id breaks ties, so no row is skipped or repeated
        record(engine, user, [f"p{i}" for i in range(10)], at)
    since = at - timedelta(seconds=1)
    seen = {events[0].user_id: [e.page for e in events]
            for events in PagesRepository(engine).activity_by_user(since, page_rows=7)}
    for user in users:
        assert seen[user] == [f"p{i}" for i in range(10)]
    capped = {events[0].user_id: [e.page for e in events]
              for events in PagesRepository(engine).activity_by_user(since, page_rows=4, per_user=3)}
    assert all(capped[user] == ["p7", "p8", "p9"] for user in users)


def test_user_activity_is_the_most_recent_oldest_first(engine) -> None:  # noqa: ANN001
    user = f"u-{uuid.uuid4().hex[:8]}"
    now = utcnow_naive()
    PagesRepository(engine).record_activity(user, [Activity(page=f"p{i}", action="view", occurred_at=now - timedelta(minutes=60 - i))
                                                   for i in range(60)])
    events = PagesRepository(engine).user_activity(user, now - timedelta(days=14), limit=5)
    assert [e.page for e in events] == ["p55", "p56", "p57", "p58", "p59"]
    assert all(e.user_id == user for e in events)


def test_overlapping_detector_runs_queue_each_prediction_once(service, engine) -> None:  # noqa: ANN001
    user = f"u-{uuid.uuid4().hex[:8]}"
    now = utcnow_naive()
    for days in (1, 2, 3):
        record(engine, user, ["reports", "billing"], now - timedelta(days=days))
    barrier, results = threading.Barrier(2), []

    def run() -> None:
        barrier.wait()
        results.append(service.detect(StatisticalDetector()))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as c:
        jobs = c.execute(select(generation_queue.c.page_type).where(generation_queue.c.user_id == user)).scalars().all()
    assert sorted(jobs) == ["billing", "reports"]
