"""Validation of ``POST /activity`` bodies: one event or ``{"events": [...]}``."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from chalicelib import errors
from chalicelib.pages.model import Activity
from chalicelib.timeutil import parse_iso

MAX_BATCH = 100
MAX_METADATA_BYTES = 4096
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _./:-]{0,99}$")
ACTION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
MAX_AGE = timedelta(days=30)
MAX_SKEW = timedelta(minutes=5)


def _parse_time(value: Any, field: str, now: datetime) -> datetime:
    if not isinstance(value, str):
        raise errors.BadRequest("timestamp must be an ISO-8601 string", field=field)
    try:
        parsed = parse_iso(value).replace(tzinfo=None)
    except ValueError:
        raise errors.BadRequest(f"timestamp {value[:40]!r} is not ISO-8601", field=field) from None
    if parsed > now + MAX_SKEW or parsed < now - MAX_AGE:
        raise errors.BadRequest("timestamp must be within the last 30 days and not in the future", field=field)
    return parsed


def validate_event(raw: Any, where: str, now: datetime) -> Activity:
    if not isinstance(raw, dict):
        raise errors.BadRequest("each event must be a JSON object", field=where)
    unknown = set(raw) - {"page", "intent", "action", "metadata", "timestamp"}
    if unknown:
        raise errors.BadRequest(f"unknown field(s): {', '.join(sorted(unknown))}", field=f"{where}.{sorted(unknown)[0]}")
    names: dict[str, str] = {}
    for name in ("page", "intent"):
        value = raw.get(name)
        if value is not None:
            if not isinstance(value, str) or not NAME.match(value):
                raise errors.BadRequest(f"{name} must be 1-100 letters, digits, spaces or _ . / : -",
                                        field=f"{where}.{name}")
            names[name] = value
    if not names:
        raise errors.BadRequest("an event needs a page or an intent", field=f"{where}.page")
    action = raw.get("action")
    if not isinstance(action, str) or not ACTION.match(action):
        raise errors.BadRequest("action is required: 1-64 letters, digits or _ . : -", field=f"{where}.action")
    metadata = raw.get("metadata", {})
    if not isinstance(metadata, dict):
        raise errors.BadRequest("metadata must be a JSON object", field=f"{where}.metadata")
    if len(json.dumps(metadata)) > MAX_METADATA_BYTES:
        raise errors.PayloadTooLarge(f"metadata is over {MAX_METADATA_BYTES} bytes", field=f"{where}.metadata")
    occurred_at = _parse_time(raw["timestamp"], f"{where}.timestamp", now) if "timestamp" in raw else None
    return Activity(action=action, metadata=metadata, occurred_at=occurred_at, **names)


def validate_activity(body: dict[str, Any], now: datetime) -> list[Activity]:
    if "events" in body:
        events = body["events"]
        if not isinstance(events, list) or not events:
            raise errors.BadRequest("events must be a non-empty list", field="events")
        if len(events) > MAX_BATCH:
            raise errors.PayloadTooLarge(f"at most {MAX_BATCH} events per request", field="events")
        return [validate_event(e, f"events[{i}]", now) for i, e in enumerate(events)]
    return [validate_event(body, "event", now)]
