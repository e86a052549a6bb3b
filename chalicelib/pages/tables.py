"""Portable tables (PostgreSQL and MySQL/MariaDB) described by migration ``0003_pages``.

Times are naive UTC ``DateTime`` everywhere so both dialects compare them the same way."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, Float, Index, Integer, String, Table, Text

from chalicelib.db.schema import metadata

activity_log = Table(
    "activity_log", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("user_id", String(128), nullable=False),
    Column("page", String(100)),
    Column("intent", String(100)),
    Column("action", String(64), nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("occurred_at", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("ix_activity_log_user_occurred", "user_id", "occurred_at"),
    Index("ix_activity_log_occurred", "occurred_at"),
)

#: The Idempotency-Key of each ``POST /activity`` batch (migration ``0005_activity_requests``).
activity_requests = Table(
    "activity_requests", metadata,
    Column("user_id", String(128), primary_key=True),
    Column("idempotency_key", String(128), primary_key=True),
    Column("accepted", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("ix_activity_requests_created", "created_at"),
)

#: Each user's page misses in the current minute (migration ``0006_page_miss_counts``).
page_miss_counts = Table(
    "page_miss_counts", metadata,
    Column("user_id", String(128), primary_key=True),
    Column("window_start", DateTime, nullable=False),
    Column("misses", Integer, nullable=False),
)

generation_queue = Table(
    "generation_queue", metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(128), nullable=False),
    Column("page_type", String(64), nullable=False),
    Column("cache_key", String(64), nullable=False),
    # = cache_key while queued or processing, NULL otherwise: the unique index allows one
    # active job per key on both dialects (NULLs never collide).
    Column("active_key", String(64), unique=True),
    Column("status", String(16), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("pattern", JSON, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claim_token", String(36)),
    Column("lease_expires_at", DateTime),
    Column("last_error", Text),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_generation_queue_status_created", "status", "created_at"),
)

page_cache = Table(
    "page_cache", metadata,
    Column("cache_key", String(64), primary_key=True),
    Column("user_id", String(128), nullable=False),
    Column("page_type", String(64), nullable=False),
    Column("components", JSON, nullable=False),
    Column("relevance_score", Float, nullable=False),
    Column("provider_used", String(32), nullable=False),
    Column("model_used", String(128), nullable=False),
    Column("generated_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Index("ix_page_cache_user_expires", "user_id", "expires_at"),
)
