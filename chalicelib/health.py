"""What ``GET /health`` reports: stage, version, database, providers (real or offline)."""

from __future__ import annotations

import time
from typing import Any

from chalicelib import wiring
from chalicelib.settings import get_settings


def _database() -> dict[str, Any]:
    from chalicelib.db.engine import ping

    started = time.perf_counter()
    try:
        engine = wiring.engine()
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return {"reachable": False, "error": type(exc).__name__}
    reachable = ping(engine)
    return {
        "reachable": reachable,
        "dialect": engine.dialect.name,
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def health_report() -> dict[str, Any]:
    """A JSON-ready summary; never raises and never includes secrets. ``status`` is
    ``degraded`` when a provider this stage requires is missing or unreadable (named in
    ``missing``); ``providers_mode`` is PROVIDERS (``offline`` says every record is offline)."""
    from chalicelib.providers import provider_report

    settings = get_settings()
    providers = provider_report(settings)
    database = _database()
    return {
        "status": "degraded" if providers["missing"] or not database["reachable"] else "ok",
        "stage": settings.stage,
        "version": settings.version,
        "database": database,
        "providers": providers["providers"],
        "providers_mode": providers["mode"],
        "missing": providers["missing"],
    }
