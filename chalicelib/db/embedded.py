"""The embedded PostgreSQL 16 + pgvector (``pgserver``) used by the local stage and tests."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def embedded_postgres_url(data_dir: Path, database: str = "postgres") -> str:
    """Start (or reuse) the server whose data lives in ``data_dir/pg`` and return its URL.

    The server keeps running while any process that asked for it is alive; a second process
    (``chalice local`` beside the runtime) shares the same server.
    """
    import pgserver  # dev-only dependency: never imported in Lambda

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir / "pg", cleanup_mode="stop")
    if database != "postgres":
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
        if "(1 row)" not in exists:
            server.psql(f'CREATE DATABASE "{database}";')
    uri = server.get_uri(database)
    log.info("embedded PostgreSQL ready at %s", data_dir / "pg")
    return uri.replace("postgresql://", "postgresql+psycopg2://", 1)
