"""Backfill: N analyses without embeddings take ceil(N/128) embedder calls, and a re-run
finds nothing to do."""

from __future__ import annotations

import math

from sqlalchemy import func, select

from benchmarks.bench_embedding_backfill import seed_analyses
from chalicelib.collections.embedding import backfill_embeddings
from chalicelib.collections.repository import CollectionsRepository
from chalicelib.collections.tables import embeddings, items
from chalicelib.db.engine import get_engine
from tests.collections.fakes import FakeEmbedder


def test_backfill_batches_128_per_call(pg_url, user) -> None:  # noqa: ANN001
    engine = get_engine(pg_url)
    count = 300
    seed_analyses(engine, user, count)
    embedder = FakeEmbedder()
    report = backfill_embeddings(CollectionsRepository(engine), embedder, user_id=user)
    assert report.embedded == count and report.calls == math.ceil(count / 128) == 3
    assert [size for size, _ in embedder.calls] == [128, 128, 44]
    assert {kind for _, kind in embedder.calls} == {"document"}
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).where(embeddings.c.user_id == user)).scalar_one()
        statuses = set(conn.execute(select(items.c.status).where(items.c.user_id == user)).scalars())
    assert stored == count and statuses == {"ready"}
    assert backfill_embeddings(CollectionsRepository(engine), embedder, user_id=user).calls == 0


def test_backfill_limit(pg_url, user) -> None:  # noqa: ANN001
    engine = get_engine(pg_url)
    seed_analyses(engine, user, 10)
    report = backfill_embeddings(CollectionsRepository(engine), FakeEmbedder(), limit=4, batch_size=3, user_id=user)
    assert (report.embedded, report.calls) == (4, 2)
