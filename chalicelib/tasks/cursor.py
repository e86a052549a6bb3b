"""Opaque pagination cursors: URL-safe base64 of a small JSON value, shared by both stores."""

from __future__ import annotations

import base64
import json
from typing import Any

from chalicelib.tasks.store import BadCursor


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except Exception:  # noqa: BLE001 - any garbage is the caller's bad cursor
        raise BadCursor("cursor is not valid; pass the one the previous page returned") from None
