"""Paging for every list route: one ``limit`` parser and one opaque cursor codec.

A cursor is URL-safe base64 (no padding) of a small JSON value, the position after the last row
returned. A codec built with a secret also signs it (``<payload>.<mac>``, HMAC-SHA256), so a
client cannot forge a position; the plain codec's cursors are opaque but not tamper-proof, which
is enough where the query is also scoped to the caller (every list route is)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from chalicelib.errors import BadRequest

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
CURSOR_MESSAGE = "cursor is not valid; pass the one the previous page returned"
_MAC_CHARS = 22


class BadCursor(ValueError):
    """The cursor is not one this codec issued (garbage, cut, or a bad signature)."""


def parse_limit(raw: str | None, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    """The ``limit`` query parameter: absent or empty means ``default``; else an integer from 1 to
    ``maximum`` or a 400 naming the field."""
    if raw is None or raw == "":
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise BadRequest(f"limit must be an integer from 1 to {maximum}", field="limit") from None
    if not 1 <= limit <= maximum:
        raise BadRequest(f"limit must be an integer from 1 to {maximum}", field="limit")
    return limit


def limit_from(params: Mapping[str, str] | None, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    """:func:`parse_limit` of ``params["limit"]`` (query parameters may be ``None`` in Chalice)."""
    return parse_limit((params or {}).get("limit"), default, maximum)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    """Encode and decode positions; ``secret`` (bytes) makes signed cursors, ``None`` plain ones."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret

    def _mac(self, payload: str) -> str:
        assert self._secret is not None
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())[:_MAC_CHARS]

    def encode(self, value: Any) -> str:
        payload = _b64(json.dumps(value).encode())
        return payload if self._secret is None else f"{payload}.{self._mac(payload)}"

    def decode(self, cursor: str) -> Any:
        """The value :meth:`encode` was given; :class:`BadCursor` for anything else."""
        payload = cursor
        if self._secret is not None:
            payload, _, mac = cursor.partition(".")
            if not hmac.compare_digest(mac.encode(), self._mac(payload).encode()):
                raise BadCursor(CURSOR_MESSAGE)
        try:
            return json.loads(_unb64(payload))
        except Exception:  # noqa: BLE001 - any garbage is the caller's bad cursor
            raise BadCursor(CURSOR_MESSAGE) from None


#: The codec of every list route today (their queries are scoped to the caller).
PLAIN = CursorCodec()


def bad_cursor_request(exc: BadCursor | None = None) -> BadRequest:
    """The 400 a route answers for a bad cursor."""
    return BadRequest(str(exc) if exc else CURSOR_MESSAGE, field="cursor")
