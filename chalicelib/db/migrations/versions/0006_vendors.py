"""The concierge agent's vendor directory and the quote requests it e-mails.

``vendors``: one row per vendor, unique by e-mail; ``trades`` and ``areas`` are normalised
lowercase names stored ``|``-delimited (``|plumbing|drains|``) so one portable ``LIKE`` finds a
vendor by trade and area on PostgreSQL and MySQL alike.
``quote_requests``: one row per e-mail the agent asked us to send (at most one per task and
vendor), and the vendor's answer once given through the signed link (single use).

Revision ID: 0006_vendors
Revises: 0002_tasks
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_vendors"
down_revision = "0002_tasks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vendors",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("trades", sa.Text, nullable=False),
        sa.Column("areas", sa.Text, nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("phone", sa.String(40)),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.UniqueConstraint("email", name="uq_vendors_email"),
    )
    op.create_table(
        "quote_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("task_id", sa.String(36), nullable=False),
        sa.Column("vendor_id", sa.String(36), sa.ForeignKey("vendors.id", name="fk_quote_requests_vendor_id_vendors"),
                  nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message_id", sa.String(200)),
        sa.Column("error", sa.Text),
        sa.Column("expires_at", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("sent_at", sa.String(32)),
        sa.Column("answered_at", sa.String(32)),
        sa.Column("price", sa.Numeric(12, 2)),
        sa.Column("currency", sa.String(3)),
        sa.Column("note", sa.Text),
        sa.UniqueConstraint("task_id", "vendor_id", name="uq_quote_requests_task_id_vendor_id"),
    )
    op.create_index("ix_quote_requests_task_id", "quote_requests", ["task_id"])


def downgrade() -> None:
    op.drop_table("quote_requests")
    op.drop_table("vendors")
