"""Collections: an item whose bytes have not arrived reads ``awaiting_upload``, not ``pending``.

``pending`` read like work in progress; nothing runs until the upload lands. Existing
``pending`` rows become ``awaiting_upload``; the check constraint, the column default and the
sweeper's partial index over unfinished items follow.

PostgreSQL only, like 0004_collections (a no-op on MySQL/MariaDB).

Revision ID: 0007_item_awaiting_upload
Revises: 0006_search_bm25
"""

from alembic import op

revision = "0007_item_awaiting_upload"
down_revision = "0006_search_bm25"
branch_labels = None
depends_on = None


def _switch(old: str, new: str) -> None:
    op.execute("ALTER TABLE items DROP CONSTRAINT ck_items_status")
    op.execute("DROP INDEX IF EXISTS ix_items_unfinished")
    op.execute(f"UPDATE items SET status = '{new}' WHERE status = '{old}'")
    op.execute(f"ALTER TABLE items ALTER COLUMN status SET DEFAULT '{new}'")
    op.execute("ALTER TABLE items ADD CONSTRAINT ck_items_status"
               f" CHECK (status IN ('{new}', 'processing', 'ready', 'failed'))")
    op.execute(f"CREATE INDEX ix_items_unfinished ON items (updated_at, id) WHERE status IN ('{new}', 'processing')")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _switch("pending", "awaiting_upload")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _switch("awaiting_upload", "pending")
