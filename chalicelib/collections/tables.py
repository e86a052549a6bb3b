"""SQLAlchemy tables for queries; they describe migrations ``0004_collections`` and
``0005_item_resends`` and ``0007_item_awaiting_upload`` (PostgreSQL)."""

from __future__ import annotations

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

from chalicelib.collections.model import ItemStatus
from chalicelib.db.schema import metadata

EMBEDDING_DIMENSIONS = 1024

items = Table(
    "items",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(255), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("file_path", Text, nullable=False, unique=True),
    Column("mime_type", String(100), nullable=False),
    Column("status", String(20), nullable=False, server_default=ItemStatus.AWAITING_UPLOAD.value),
    Column("error", Text),
    Column("thumbnail_path", Text),
    Column("thumbnail_mime_type", String(100)),
    Column("content_sha256", String(64)),
    Column("current_analysis_id", String(64)),
    Column("resend_step", String(20)),
    Column("resend_count", Integer, nullable=False, server_default="0"),
    Column("resent_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

analyses = Table(
    "analyses",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("item_id", String(64), ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(255), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("request_id", String(255), nullable=False, unique=True),
    Column("category", String(255)),
    Column("headline", Text),
    Column("summary", Text),
    Column("raw_response", JSONB, nullable=False),
    Column("provider_used", String(64)),
    Column("model_used", String(128)),
    Column("trace_id", String(128)),
    Column("search_vector", TSVECTOR, Computed("generated; see migration 0004_collections", persisted=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("item_id", "version"),
)

embeddings = Table(
    "embeddings",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("item_id", String(64), ForeignKey("items.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("analysis_id", String(64), ForeignKey("analyses.id", ondelete="CASCADE"), nullable=False,
           unique=True),
    Column("user_id", String(255), nullable=False, index=True),
    Column("vector", Vector(EMBEDDING_DIMENSIONS), nullable=False),
    Column("embedding_model", String(128), nullable=False),
    Column("embedding_dimensions", Integer, nullable=False),
    Column("embedding_source", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
