"""Collections: what the item sweeper re-sent, so its re-sends are counted durably.

``resend_step`` is the pipeline step last re-sent (thumbnail | analysis | embedding),
``resend_count`` how many times that step was re-sent, ``resent_at`` when. An index on
(status, updated_at) keeps the sweeper's scan of unfinished items bounded.

PostgreSQL only, like 0004_collections (a no-op on MySQL/MariaDB).

Branch ``collections``, its second revision (the pages branch has its own 0005).

Revision ID: 0005_item_resends
Revises: 0004_collections
"""

from alembic import op

revision = "0005_item_resends"
down_revision = "0004_collections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE items ADD COLUMN resend_step VARCHAR(20)")
    op.execute("ALTER TABLE items ADD COLUMN resend_count INTEGER NOT NULL DEFAULT 0")
    op.execute("ALTER TABLE items ADD COLUMN resent_at TIMESTAMPTZ")
    op.execute("CREATE INDEX ix_items_unfinished ON items (updated_at, id) WHERE status IN ('pending', 'processing')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_items_unfinished")
    op.execute("ALTER TABLE items DROP COLUMN resent_at")
    op.execute("ALTER TABLE items DROP COLUMN resend_count")
    op.execute("ALTER TABLE items DROP COLUMN resend_step")
