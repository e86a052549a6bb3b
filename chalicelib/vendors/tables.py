"""SQL tables of the vendor directory and quote requests (migration 0006_vendors)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, Numeric, String, Table, Text, UniqueConstraint

from chalicelib.db.schema import metadata

vendors = Table(
    "vendors",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("trades", Text, nullable=False),  # "|plumbing|drains|": normalised names, |-delimited
    Column("areas", Text, nullable=False),  # "|austin|round rock|"
    Column("email", String(254), nullable=False),
    Column("phone", String(40)),
    Column("source", String(40), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    UniqueConstraint("email", name="uq_vendors_email"),
)

#: A quote request's life: pending (row written, e-mail not yet accepted), sent, failed, answered.
PENDING, SENT, FAILED, ANSWERED = "pending", "sent", "failed", "answered"

quote_requests = Table(
    "quote_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("task_id", String(36), nullable=False),
    Column("vendor_id", String(36), ForeignKey("vendors.id", name="fk_quote_requests_vendor_id_vendors"),
           nullable=False),
    Column("description", Text, nullable=False),  # the task text the vendor was asked about
    Column("message", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("message_id", String(200)),
    Column("error", Text),
    Column("expires_at", Integer, nullable=False),  # epoch seconds, as signed in the link
    Column("created_at", String(32), nullable=False),
    Column("sent_at", String(32)),
    Column("answered_at", String(32)),
    Column("price", Numeric(12, 2)),
    Column("currency", String(3)),
    Column("note", Text),
    UniqueConstraint("task_id", "vendor_id", name="uq_quote_requests_task_id_vendor_id"),
    Index("ix_quote_requests_task_id", "task_id"),
)
