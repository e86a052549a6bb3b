"""Tasks: the worker's claim carries a number and a time, so a worker that finds the task
``processing`` under a claim older than the worker's timeout can take it over atomically.

Revision ID: 0007_task_claims
Revises: 0006_vendors
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_task_claims"
down_revision = "0006_vendors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("claim", sa.Integer, nullable=False, server_default="0"))
    op.add_column("tasks", sa.Column("claimed_at", sa.String(32)))


def downgrade() -> None:
    op.drop_column("tasks", "claimed_at")
    op.drop_column("tasks", "claim")
