"""Base revision: every product's migrations branch from here (``alembic upgrade heads``).

One labelled branch per product, each a straight line; a revision's number orders it within its
branch only (two branches each have a 0005). A new revision's down_revision is its branch's head:

- ``tasks``: 0002_tasks
- ``pages``: 0003_pages -> 0005_activity_requests
- ``collections``: 0004_collections -> 0005_item_resends

(tests/test_migration_branches.py keeps this true.)

On PostgreSQL it enables pgvector when the server has it; MySQL/MariaDB need nothing.

Revision ID: 0001
Revises:
"""

from alembic import op
from sqlalchemy import text

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        available = bind.execute(
            text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        ).scalar()
        if available:
            op.execute("CREATE EXTENSION IF NOT EXISTS vector")


def downgrade() -> None:
    pass
