"""Ambient pages: ``activity_requests``, the Idempotency-Key of each ``POST /activity`` batch.

A retried batch (a client timed out, a connection was reset) finds its key and stores nothing
twice. Portable SQL; keys older than a day are deleted by the pattern detector's run.

Branch ``pages``, its second revision (the collections branch has its own 0005).

Revision ID: 0005_activity_requests
Revises: 0003_pages
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_activity_requests"
down_revision = "0003_pages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activity_requests",
        sa.Column("user_id", sa.String(128), primary_key=True),
        sa.Column("idempotency_key", sa.String(128), primary_key=True),
        sa.Column("accepted", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_activity_requests_created", "activity_requests", ["created_at"])


def downgrade() -> None:
    op.drop_table("activity_requests")
