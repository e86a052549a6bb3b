"""Base revision: every product's migrations branch from here (``alembic upgrade heads``).

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
