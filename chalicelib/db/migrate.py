"""Run the Alembic migrations programmatically (``make migrate`` via :mod:`chalicelib.migrate_cli`,
the local stage, tests)."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Engine

from chalicelib.db.engine import get_engine

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str):  # noqa: ANN201 - alembic.config.Config, imported lazily
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> Engine:
    """Bring the database at ``url`` to ``revision`` (every product branch by default)."""
    from alembic import command

    engine = get_engine(url)
    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    log.info("database migrated to %s", revision)
    return engine
