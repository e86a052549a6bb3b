"""Shared set-up for benchmarks: a throwaway embedded PostgreSQL, migrated."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def embedded_database(name: str = "bench") -> str:
    """A migrated embedded PostgreSQL in a temp dir; returns its URL."""
    from chalicelib.db.embedded import embedded_postgres_url
    from chalicelib.db.migrate import upgrade

    data_dir = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    url = embedded_postgres_url(data_dir, database=name)
    upgrade(url)
    return url


def local_stage(url: str) -> Path:
    """Point the app's local stage at ``url`` with state in a temp dir."""
    data_dir = Path(tempfile.mkdtemp(prefix="bench-local-"))
    os.environ.update({"STAGE": "local", "DATABASE_URL": url, "LOCAL_DATA_DIR": str(data_dir),
                       "JWT_SECRET": "bench-secret-" + "x" * 32})
    for name in ("ANTHROPIC_API_KEY", "CLAUDE_API_KEY", "VOYAGE_API_KEY"):
        os.environ.pop(name, None)
    return data_dir
