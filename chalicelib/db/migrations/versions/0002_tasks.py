"""Tasks for the SQL task store: portable to PostgreSQL and MySQL/MariaDB.

Revision ID: 0002_tasks
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_tasks"
down_revision = "0001"
branch_labels = ("tasks",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("agent_response", sa.Text),
        sa.Column("vendors", sa.JSON, nullable=False),
        sa.Column("quotes", sa.JSON, nullable=False),
        sa.Column("emails_sent", sa.Integer, nullable=False, server_default="0"),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("error_message", sa.Text),
        sa.Column("provider_used", sa.String(32)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_tasks_owner_created", "tasks", ["owner", "created_at"])
    op.create_index("ix_tasks_status_created", "tasks", ["status", "created_at"])


def downgrade() -> None:
    op.drop_table("tasks")
