"""Time in one place: the clock is UTC and every stamp the API writes has one of the named formats.

- :func:`iso` ``2026-12-03T09:00:00.123456Z``: task timelines and stamps, quote requests, pages'
  ``generated_at``/``expires_at`` (also compared as text, so the width is fixed).
- :func:`iso_offset` ``2026-12-03T09:00:00.123456+00:00``: collections' ``created_at`` and the
  ``started_at`` of its events (``datetime.isoformat`` of an aware time).
- :func:`iso_seconds` ``2026-12-03T09:00:00Z``: whole-second times shown to vendors.
"""

from __future__ import annotations

from datetime import UTC, datetime

_MICRO_Z = "%Y-%m-%dT%H:%M:%S.%fZ"
_SECONDS_Z = "%Y-%m-%dT%H:%M:%SZ"


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


def utcnow_naive() -> datetime:
    """Now as naive UTC, for ``DATETIME`` columns without a zone (the pages tables, on MySQL too)."""
    return datetime.now(UTC).replace(tzinfo=None)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive time is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always microseconds, so stamps sort as text)."""
    return as_utc(moment).strftime(_MICRO_Z)


def now_iso() -> str:
    """:func:`iso` of now."""
    return iso(utcnow())


def iso_offset(moment: datetime) -> str:
    """``datetime.isoformat`` of an aware time (``+00:00``; microseconds only when non-zero)."""
    return moment.isoformat() if moment.tzinfo is not None else moment.replace(tzinfo=UTC).isoformat()


def iso_seconds(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``."""
    return as_utc(moment).strftime(_SECONDS_Z)


def from_epoch(seconds: float) -> datetime:
    """A Unix time as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


def parse_iso(text: str) -> datetime:
    """Any of the formats above (a trailing ``Z`` included) as an aware datetime; a naive one is
    taken as UTC. Raises ``ValueError`` for anything else."""
    return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
