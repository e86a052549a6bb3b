"""Item rows: create, find, claim for processing, mark failed/ready, list with a cursor."""

from __future__ import annotations

import base64
import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from chalicelib.collections.tables import AWAITING_UPLOAD, analyses, items
from chalicelib.errors import BadRequest, NotFound

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 1000


def create_awaiting_upload(conn: Connection, *, item_id: str, user_id: str, filename: str, file_path: str,
                           mime_type: str) -> None:
    """The row ``POST /items`` creates before the client uploads the bytes."""
    conn.execute(items.insert().values(id=item_id, user_id=user_id, filename=filename, file_path=file_path,
                                       mime_type=mime_type, status=AWAITING_UPLOAD))


def ensure_for_upload(conn: Connection, *, item_id: str, user_id: str, filename: str, file_path: str,
                      mime_type: str) -> dict[str, Any]:
    """The item of an uploaded object: the existing row for ``file_path`` (created by the API or
    an earlier delivery) or a new one with the derived id. Safe under concurrent calls."""
    conn.execute(
        insert(items)
        .values(id=item_id, user_id=user_id, filename=filename, file_path=file_path, mime_type=mime_type,
                status=AWAITING_UPLOAD)
        .on_conflict_do_nothing()
    )
    row = conn.execute(select(items).where(items.c.file_path == file_path)).mappings().one()
    return dict(row)


def mark_bytes_arrived(conn: Connection, item_id: str) -> None:
    """``awaiting_upload`` -> ``processing`` once the original's bytes have been read (any other
    status is left as it is)."""
    conn.execute(update(items).where(items.c.id == item_id, items.c.status == AWAITING_UPLOAD)
                 .values(status="processing", updated_at=func.now()))


def get_for_update(conn: Connection, item_id: str) -> dict[str, Any] | None:
    """Lock the item row for the rest of the transaction (serialises writers per item)."""
    row = conn.execute(select(items).where(items.c.id == item_id).with_for_update()).mappings().first()
    return dict(row) if row else None


def get_owned(conn: Connection, user_id: str, item_id: str) -> dict[str, Any]:
    """The caller's item, or 404 (also for another user's item: never reveal it exists)."""
    row = conn.execute(
        select(items).where(items.c.id == item_id, items.c.user_id == user_id)
    ).mappings().first()
    if row is None:
        raise NotFound(f"item {item_id} not found")
    return dict(row)


def set_status(conn: Connection, item_id: str, status: str, error: str | None = None, **values: Any) -> None:
    if error is not None:
        error = error[:MAX_ERROR_LENGTH]
    conn.execute(
        update(items).where(items.c.id == item_id)
        .values(status=status, error=error, updated_at=func.now(), **values)
    )


#: How the API introduces an unfinished item's ``error``: the reason its step will be retried.
RETRY_PREFIX = "will be retried: "


def note_retry(engine: Any, item_id: str, reason: str) -> None:
    """Record why a pipeline step failed and will be retried (``<step>: <reason>``). The status is
    unchanged, so an unfinished item with an ``error`` is one waiting for a retry, until the retry
    succeeds and clears it (see :func:`shown_error`)."""
    try:
        with engine.begin() as conn:
            conn.execute(update(items).where(items.c.id == item_id)
                         .values(error=reason[:MAX_ERROR_LENGTH], updated_at=func.now()))
    except Exception:  # noqa: BLE001 - best effort: the database may be the dependency that is down
        log.warning("item %s: could not record the retry reason", item_id, exc_info=True)


def shown_error(status: str, error: str | None) -> str | None:
    """The ``error`` the API shows: a failed item's reason, or on an unfinished item why its step
    will be retried (``will be retried: <step>: <reason>``)."""
    if error and status not in ("ready", "failed"):
        return (RETRY_PREFIX + error)[:MAX_ERROR_LENGTH]
    return error


def encode_cursor(created_at: datetime, item_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), item_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, item_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(created_at), str(item_id)
    except (ValueError, TypeError) as exc:
        raise BadRequest("cursor is not one this API returned", field="cursor") from exc


def list_page(conn: Connection, user_id: str, limit: int, cursor: str | None = None,
              category: str | None = None, status: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """The caller's items, newest first, with their current analysis's category/headline."""
    query = (
        select(items, analyses.c.category, analyses.c.headline, analyses.c.summary)
        .select_from(items.outerjoin(analyses, analyses.c.id == items.c.current_analysis_id))
        .where(items.c.user_id == user_id)
        .order_by(items.c.created_at.desc(), items.c.id.desc())
        .limit(limit + 1)
    )
    if category:
        query = query.where(analyses.c.category == category)
    if status:
        query = query.where(items.c.status == status)
    if cursor:
        created_at, last_id = decode_cursor(cursor)
        query = query.where(or_(items.c.created_at < created_at,
                                and_(items.c.created_at == created_at, items.c.id < last_id)))
    rows = [dict(row) for row in conn.execute(query).mappings()]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"])
    return rows, next_cursor
