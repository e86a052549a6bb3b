"""One pooled SQLAlchemy engine per database URL, reused across warm Lambda invocations."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def normalize_url(url: str) -> str:
    """Give bare ``postgresql://`` and ``mysql://`` URLs the drivers we ship."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    elif parsed.drivername in ("mysql", "mariadb"):
        parsed = parsed.set(drivername="mysql+pymysql")
    return parsed.render_as_string(hide_password=False)


def get_engine(url: str, pool_size: int = 5) -> Engine:
    """The engine for ``url``, created once per process (pre-ping, recycled connections)."""
    key = normalize_url(url)
    engine = _engines.get(key)
    if engine is not None:
        return engine
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = create_engine(
                key,
                pool_pre_ping=True,
                pool_size=pool_size,
                max_overflow=pool_size * 2,
                pool_recycle=300,
                pool_timeout=10,
            )
            if engine.dialect.name == "mysql":
                event.listen(engine, "connect", _mysql_session_setup)
            _engines[key] = engine
    return engine


def _mysql_session_setup(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI types
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET SESSION time_zone = '+00:00'")


def ping(engine: Engine) -> bool:
    """True when the database answers ``SELECT 1``."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - health check reports, never raises
        return False
