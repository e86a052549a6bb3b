"""The shared SQLAlchemy ``MetaData``; each product declares its tables against it.

Alembic migrations in ``chalicelib/db/migrations`` are the one source of the schema: the
``Table`` objects here only describe it for queries and must match the migrations (a test
compares them).
"""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
