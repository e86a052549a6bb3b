"""Ambient pages: activity_log, generation_queue, page_cache. Portable SQL.

Revision ID: 0003_pages
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_pages"
down_revision = "0001"
branch_labels = ("pages",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activity_log",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("page", sa.String(100)),
        sa.Column("intent", sa.String(100)),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("occurred_at", sa.DateTime, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_activity_log_user_occurred", "activity_log", ["user_id", "occurred_at"])
    op.create_index("ix_activity_log_occurred", "activity_log", ["occurred_at"])
    op.create_table(
        "generation_queue",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("page_type", sa.String(64), nullable=False),
        sa.Column("cache_key", sa.String(64), nullable=False),
        sa.Column("active_key", sa.String(64), unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("pattern", sa.JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("claim_token", sa.String(36)),
        sa.Column("lease_expires_at", sa.DateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_generation_queue_status_created", "generation_queue", ["status", "created_at"])
    op.create_table(
        "page_cache",
        sa.Column("cache_key", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("page_type", sa.String(64), nullable=False),
        sa.Column("components", sa.JSON, nullable=False),
        sa.Column("relevance_score", sa.Float, nullable=False),
        sa.Column("provider_used", sa.String(32), nullable=False),
        sa.Column("model_used", sa.String(128), nullable=False),
        sa.Column("generated_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_page_cache_user_expires", "page_cache", ["user_id", "expires_at"])


def downgrade() -> None:
    op.drop_table("page_cache")
    op.drop_table("generation_queue")
    op.drop_table("activity_log")
