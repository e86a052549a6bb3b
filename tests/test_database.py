"""Engines are pooled and reused; migrations build the schema on PostgreSQL and MySQL."""

from __future__ import annotations

from sqlalchemy import inspect, text

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
