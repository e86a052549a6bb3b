"""The SQL of the ``items``, ``analyses`` and ``embeddings`` tables: every status change and every
row read that another module uses (search's ranking queries stay in :mod:`search`). Rows leave as
the domain objects of :mod:`chalicelib.collections.model`; a status moves only along
``model.TRANSITIONS``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from chalicelib import paging
from chalicelib.collections.model import (
    FINISHED,
    Analysis,
    EmbedCandidate,
    Item,
    ItemStatus,
    ListedItem,
    QuietItem,
    ToEmbed,
    may_move,
    sources_of,
)
from chalicelib.collections.tables import analyses, embeddings, items
from chalicelib.errors import NotFound
from chalicelib.timeutil import iso_offset, parse_iso

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 1000
#: How the API introduces an unfinished item's ``error``: the reason its step will be retried.
RETRY_PREFIX = "will be retried: "
#: An ``awaiting_upload`` item is only looked at this long after creation: its upload URL expires
#: after 15 minutes, so an older one with no original is one the user never uploaded.
UPLOAD_WINDOW = timedelta(hours=24)

# --- items ------------------------------------------------------------------------------------


def create_awaiting_upload(conn: Connection, *, item_id: str, user_id: str, filename: str, file_path: str,
                           mime_type: str) -> None:
    """The row ``POST /items`` creates before the client uploads the bytes."""
    conn.execute(items.insert().values(id=item_id, user_id=user_id, filename=filename, file_path=file_path,
                                       mime_type=mime_type, status=ItemStatus.AWAITING_UPLOAD))


def ensure_for_upload(conn: Connection, *, item_id: str, user_id: str, filename: str, file_path: str,
                      mime_type: str) -> Item:
    """The item of an uploaded object: the existing row for ``file_path`` (created by the API or
    an earlier delivery) or a new one with the derived id. Safe under concurrent calls."""
    conn.execute(
        insert(items)
        .values(id=item_id, user_id=user_id, filename=filename, file_path=file_path, mime_type=mime_type,
                status=ItemStatus.AWAITING_UPLOAD)
        .on_conflict_do_nothing()
    )
    return Item.from_row(conn.execute(select(items).where(items.c.file_path == file_path)).mappings().one())


def mark_bytes_arrived(conn: Connection, item_id: str) -> None:
    """``awaiting_upload`` -> ``processing`` once the original's bytes have been read (any other
    status is left as it is)."""
    conn.execute(update(items).where(items.c.id == item_id, items.c.status == ItemStatus.AWAITING_UPLOAD)
                 .values(status=ItemStatus.PROCESSING, updated_at=func.now()))


def get_for_update(conn: Connection, item_id: str) -> Item | None:
    """Lock the item row for the rest of the transaction (serialises writers per item)."""
    row = conn.execute(select(items).where(items.c.id == item_id).with_for_update()).mappings().first()
    return Item.from_row(row) if row else None


def find(conn: Connection, user_id: str, item_id: str) -> Item | None:
    """The user's item, or None."""
    row = conn.execute(select(items).where(items.c.id == item_id, items.c.user_id == user_id)).mappings().first()
    return Item.from_row(row) if row else None


def get_owned(conn: Connection, user_id: str, item_id: str) -> Item:
    """The caller's item, or 404 (also for another user's item: never reveal it exists)."""
    item = find(conn, user_id, item_id)
    if item is None:
        raise NotFound(f"item {item_id} not found")
    return item


def set_status(conn: Connection, item_id: str, status: ItemStatus, error: str | None = None,
               **values: Any) -> bool:
    """Move the item to ``status`` (with ``error`` and other ``values``) if its current status
    may move there; whether it did."""
    if error is not None:
        error = error[:MAX_ERROR_LENGTH]
    return conn.execute(
        update(items).where(items.c.id == item_id, items.c.status.in_(sources_of(status)))
        .values(status=status, error=error, updated_at=func.now(), **values)
    ).rowcount == 1


def finish_ready(conn: Connection, item_ids: Sequence[str]) -> None:
    """The items' current analyses are embedded: ``ready``, error cleared."""
    conn.execute(update(items).where(items.c.id.in_(list(item_ids)),
                                     items.c.status.in_(sources_of(ItemStatus.READY)))
                 .values(status=ItemStatus.READY, error=None, updated_at=func.now()))


def note_retry(engine: Engine, item_id: str, reason: str) -> None:
    """Record why a pipeline step failed and will be retried (``<step>: <reason>``). The status is
    unchanged, so an unfinished item with an ``error`` is one waiting for a retry, until the retry
    succeeds and clears it (see :func:`shown_error`)."""
    try:
        with engine.begin() as conn:
            conn.execute(update(items).where(items.c.id == item_id)
                         .values(error=reason[:MAX_ERROR_LENGTH], updated_at=func.now()))
    except Exception:  # noqa: BLE001 - best effort: the database may be the dependency that is down
        log.warning("item %s: could not record the retry reason", item_id, exc_info=True)


def shown_error(status: ItemStatus | str, error: str | None) -> str | None:
    """The ``error`` the API shows: a failed item's reason, or on an unfinished item why its step
    will be retried (``will be retried: <step>: <reason>``)."""
    if error and status not in FINISHED:
        return (RETRY_PREFIX + error)[:MAX_ERROR_LENGTH]
    return error


def delete_owned(conn: Connection, user_id: str, item_id: str) -> None:
    """Delete the user's item row (its analyses and embeddings cascade)."""
    conn.execute(delete(items).where(items.c.id == item_id, items.c.user_id == user_id))


def encode_cursor(created_at: datetime, item_id: str) -> str:
    """The position after an item: its ``created_at`` (as the API shows it) and id."""
    return paging.PLAIN.encode([iso_offset(created_at), item_id])


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """:func:`encode_cursor`'s position; a 400 naming ``cursor`` for anything else."""
    try:
        created_at, item_id = paging.PLAIN.decode(cursor)
        return parse_iso(created_at), str(item_id)
    except (paging.BadCursor, ValueError, TypeError) as exc:
        raise paging.bad_cursor_request() from exc


def list_page(conn: Connection, user_id: str, limit: int, cursor: str | None = None,
              category: str | None = None, status: str | None = None) -> tuple[list[ListedItem], str | None]:
    """The caller's items, newest first, with their current analysis's category/headline;
    ``category`` and ``status`` narrow them (an unknown status matches nothing)."""
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
    rows = [ListedItem(Item.from_row(row), row["category"], row["headline"], row["summary"])
            for row in conn.execute(query).mappings()]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1].item
        assert last.created_at is not None
        next_cursor = encode_cursor(last.created_at, last.id)
    return rows, next_cursor


# --- the sweeper's view -----------------------------------------------------------------------


def _quiet(after_seconds: int) -> Any:
    """Unfinished, with no progress and no re-send for ``after_seconds`` (database clock)."""
    cutoff = func.now() - timedelta(seconds=after_seconds)
    return and_(
        or_(items.c.status == ItemStatus.PROCESSING,
            and_(items.c.status == ItemStatus.AWAITING_UPLOAD, items.c.created_at > func.now() - UPLOAD_WINDOW)),
        items.c.updated_at < cutoff,
        or_(items.c.resent_at.is_(None), items.c.resent_at < cutoff),
    )


def quiet_page(conn: Connection, after_seconds: int, size: int,
               last: tuple[datetime, str] | None = None) -> list[QuietItem]:
    """Up to ``size`` quiet items, oldest progress first, after position ``last`` (updated_at, id)."""
    embedded = select(embeddings.c.id).where(embeddings.c.analysis_id == items.c.current_analysis_id).exists()
    query = select(items, embedded.label("embedded")).where(_quiet(after_seconds))
    if last is not None:
        query = query.where(or_(items.c.updated_at > last[0],
                                and_(items.c.updated_at == last[0], items.c.id > last[1])))
    query = query.order_by(items.c.updated_at, items.c.id).limit(size)
    return [QuietItem(Item.from_row(row), bool(row["embedded"])) for row in conn.execute(query).mappings()]


def claim_quiet(engine: Engine, item: Item, after_seconds: int, **values: Any) -> bool:
    """Apply ``values`` only if the item is still quiet and was not re-sent or changed since it
    was read: one of any number of concurrent sweeps wins. A ``status`` in ``values`` must be an
    allowed move."""
    if "status" in values and not may_move(item.status, values["status"]):
        raise ValueError(f"an item may not move from {item.status} to {values['status']}")
    statement = (update(items)
                 .where(items.c.id == item.id, items.c.status == item.status,
                        items.c.resend_count == item.resend_count, _quiet(after_seconds))
                 .values(**values))
    with engine.begin() as conn:
        return conn.execute(statement).rowcount == 1


# --- analyses ---------------------------------------------------------------------------------


def analysis(conn: Connection, analysis_id: str) -> Analysis | None:
    row = conn.execute(select(analyses).where(analyses.c.id == analysis_id)).mappings().first()
    return Analysis.from_row(row) if row else None


def analyses_of(conn: Connection, user_id: str, item_id: str) -> list[Analysis]:
    """Every version of the user's item's analysis, newest first."""
    rows = conn.execute(
        select(analyses).where(analyses.c.item_id == item_id, analyses.c.user_id == user_id)
        .order_by(analyses.c.version.desc())
    ).mappings()
    return [Analysis.from_row(row) for row in rows]


def analysis_for_request(conn: Connection, request_id: str) -> str | None:
    """The id of the analysis written for ``request_id``, if any."""
    return conn.execute(select(analyses.c.id).where(analyses.c.request_id == request_id)).scalar()


def add_analysis(conn: Connection, *, item_id: str, user_id: str, request_id: str, data: dict[str, Any],
                 provider_used: str, model_used: str, trace_id: str) -> str:
    """Insert the item's next analysis version and make it current (the item stays, or becomes,
    ``processing`` until it is embedded). The caller holds the item's row lock."""
    version = conn.execute(
        select(func.coalesce(func.max(analyses.c.version), 0) + 1).where(analyses.c.item_id == item_id)
    ).scalar_one()
    analysis_id = str(uuid.uuid4())
    conn.execute(
        insert(analyses).values(
            id=analysis_id, item_id=item_id, user_id=user_id, version=version, request_id=request_id,
            category=str(data["category"]).strip().lower()[:255], headline=data.get("headline"),
            summary=data.get("summary"), raw_response=data, provider_used=provider_used,
            model_used=model_used, trace_id=trace_id[:128],
        )
    )
    set_status(conn, item_id, ItemStatus.PROCESSING, current_analysis_id=analysis_id)
    return analysis_id


# --- embeddings -------------------------------------------------------------------------------


def embed_candidate(conn: Connection, analysis_id: str, user_id: str) -> EmbedCandidate | None:
    """The user's analysis with its item's state, or None when it no longer exists."""
    row = conn.execute(
        select(analyses.c.id, analyses.c.item_id, analyses.c.user_id, analyses.c.raw_response,
               items.c.current_analysis_id, items.c.status,
               exists().where(embeddings.c.analysis_id == analyses.c.id).label("embedded"))
        .join(items, items.c.id == analyses.c.item_id)
        .where(analyses.c.id == analysis_id, analyses.c.user_id == user_id)
    ).mappings().first()
    if row is None:
        return None
    return EmbedCandidate(ToEmbed.from_row(row), row["current_analysis_id"] == analysis_id, bool(row["embedded"]),
                          ItemStatus(row["status"]))


def _current_analyses() -> Any:
    return (select(analyses.c.id, analyses.c.item_id, analyses.c.user_id, analyses.c.raw_response)
            .join(items, items.c.current_analysis_id == analyses.c.id))


def unembedded(user_id: str | None = None) -> Any:
    """Current analyses with no embedding (``user_id``'s, or everyone's), in id order."""
    query = _current_analyses().where(~exists().where(embeddings.c.analysis_id == analyses.c.id))
    return query if user_id is None else query.where(analyses.c.user_id == user_id)


def stale(model: str, dimensions: int, user_id: str | None = None) -> Any:
    """Current analyses with no embedding of ``model``/``dimensions``, in id order."""
    current = exists().where(embeddings.c.analysis_id == analyses.c.id, embeddings.c.embedding_model == model,
                             embeddings.c.embedding_dimensions == dimensions)
    query = _current_analyses().where(~current)
    return query if user_id is None else query.where(analyses.c.user_id == user_id)


def count(conn: Connection, selection: Any) -> int:
    """How many analyses :func:`unembedded` or :func:`stale` selects."""
    return conn.execute(select(func.count()).select_from(selection.subquery())).scalar_one()


def page_after(conn: Connection, selection: Any, last_id: str, size: int) -> list[ToEmbed]:
    """The next ``size`` analyses of ``selection`` after id ``last_id``."""
    query = selection.where(analyses.c.id > last_id).order_by(analyses.c.id).limit(size)
    return [ToEmbed.from_row(row) for row in conn.execute(query).mappings()]


def store_embeddings(engine: Engine, entries: Sequence[tuple[ToEmbed, dict[str, Any], Sequence[float]]],
                     model: str, dimensions: int, replace: bool = False) -> int:
    """Insert one embedding per (analysis, source, vector) in one transaction, under the row locks
    of their items (taken in id order, so concurrent batches cannot deadlock); returns how many
    were stored for a still-current analysis, whose items become ``ready`` with their older
    embeddings removed. ``replace``: overwrite an analysis's existing embedding (re-embedding with
    another model) instead of keeping it."""
    by_item = {entry[0].item_id: entry for entry in entries}
    with engine.begin() as conn:
        current = dict(conn.execute(
            select(items.c.id, items.c.current_analysis_id)
            .where(items.c.id.in_(list(by_item))).order_by(items.c.id).with_for_update()
        ).all())
        fresh = [entry for item_id, entry in by_item.items() if current.get(item_id) == entry[0].id]
        if not fresh:
            return 0
        statement = insert(embeddings).values([
            {"id": str(uuid.uuid4()), "item_id": row.item_id, "analysis_id": row.id,
             "user_id": row.user_id, "vector": list(vector), "embedding_model": model,
             "embedding_dimensions": dimensions, "embedding_source": source}
            for row, source, vector in fresh
        ])
        if replace:
            excluded = statement.excluded
            statement = statement.on_conflict_do_update(index_elements=["analysis_id"], set_={
                "vector": excluded.vector, "embedding_model": excluded.embedding_model,
                "embedding_dimensions": excluded.embedding_dimensions,
                "embedding_source": excluded.embedding_source, "created_at": func.now()})
        else:
            statement = statement.on_conflict_do_nothing(index_elements=["analysis_id"])
        conn.execute(statement)
        item_ids = [row.item_id for row, _, _ in fresh]
        conn.execute(delete(embeddings).where(embeddings.c.item_id.in_(item_ids),
                                              embeddings.c.analysis_id.not_in([row.id for row, _, _ in fresh])))
        finish_ready(conn, item_ids)
    return len(fresh)
