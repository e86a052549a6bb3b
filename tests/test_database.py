"""Engines are pooled and reused; migrations build the schema on PostgreSQL and MySQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from chalicelib.db.engine import get_engine, normalize_url


def test_engine_is_reused_per_url(pg_url: str) -> None:
    assert get_engine(pg_url) is get_engine(pg_url)
    assert get_engine(pg_url).pool._pre_ping  # noqa: SLF001 - pre-ping is part of the contract


def test_bare_urls_get_our_drivers() -> None:
    assert normalize_url("postgresql://u:p@h/db").startswith("postgresql+psycopg2://")
    assert normalize_url("mysql://u:p@h/db").startswith("mysql+pymysql://")


def test_postgres_has_pgvector_and_is_at_every_head(pg_url: str) -> None:
    from alembic.script import ScriptDirectory

    from chalicelib.db.migrate import MIGRATIONS_DIR, alembic_config

    engine = get_engine(pg_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT extversion FROM pg_extension WHERE extname='vector'")).scalar()
        current = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    heads = set(ScriptDirectory.from_config(alembic_config(pg_url)).get_heads())
    assert current == heads, f"expected heads {heads} in {MIGRATIONS_DIR}"


def test_mysql_migrates_every_portable_table(mysql_url: str) -> None:
    engine = get_engine(mysql_url)
    with engine.connect() as connection:
        versions = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    assert versions
    assert "alembic_version" in inspect(engine).get_table_names()


def test_migrations_are_idempotent(pg_url: str) -> None:
    from chalicelib.db.migrate import upgrade

    upgrade(pg_url)  # a second run changes nothing and does not fail


def test_items_awaiting_their_upload_are_no_longer_called_pending(pg_url: str) -> None:
    """0007_item_awaiting_upload renames the status of existing rows, the default and the check,
    and its downgrade restores them."""
    from alembic import command
    from sqlalchemy.engine import make_url

    from chalicelib.db.migrate import alembic_config, upgrade

    admin = get_engine(pg_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS migration_0006"))
        connection.execute(text("CREATE DATABASE migration_0006"))
    url = make_url(pg_url).set(database="migration_0006").render_as_string(hide_password=False)
    engine = upgrade(url, "0006_search_bm25")
    insert = text("INSERT INTO items (id, user_id, filename, file_path, mime_type) VALUES (:id, 'u', 'a.jpg', :id, 'image/jpeg')")
    status = text("SELECT status FROM items WHERE id = :id")
    with engine.begin() as connection:
        connection.execute(insert, {"id": "old"})
        assert connection.execute(status, {"id": "old"}).scalar() == "pending"

    upgrade(url)
    with engine.begin() as connection:
        assert connection.execute(status, {"id": "old"}).scalar() == "awaiting_upload"
        connection.execute(insert, {"id": "new"})
        assert connection.execute(status, {"id": "new"}).scalar() == "awaiting_upload"
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("UPDATE items SET status = 'pending' WHERE id = 'new'"))

    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006_search_bm25")
    with engine.connect() as connection:
        assert connection.execute(status, {"id": "new"}).scalar() == "pending"
