"""Ambient pages: ``page_miss_counts``, each user's page misses in the current minute.

``GET /pages/{type}`` generates on a cache miss (a Claude call); the counter, read and bumped
under a row lock, caps misses per user per minute across every API container. Portable SQL.

Revision ID: 0006_page_miss_counts
Revises: 0005_activity_requests
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_page_miss_counts"
down_revision = "0005_activity_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "page_miss_counts",
        sa.Column("user_id", sa.String(128), primary_key=True),
        sa.Column("window_start", sa.DateTime, nullable=False),
        sa.Column("misses", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("page_miss_counts")
