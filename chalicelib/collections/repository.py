"""The SQL of the ``items``, ``analyses`` and ``embeddings`` tables: every status change and every
row read the service and the pipeline steps need (the search index's own statements stay in
:mod:`search`). Each method is one transaction; rows leave as the domain objects of
:mod:`chalicelib.collections.model`, and a status moves only along ``model.TRANSITIONS``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from chalicelib import paging
from chalicelib.collections.model import (
    FINISHED,
    TRANSITIONS,
    Analysis,
    EmbedCandidate,
    Item,
    ItemCard,
    ItemPage,
    ItemStatus,
    ListedItem,
    QuietItem,
    ToEmbed,
)
from chalicelib.collections.tables import analyses, embeddings, items
from chalicelib.timeutil import iso_offset, parse_iso

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 1000
#: How the API introduces an unfinished item's ``error``: the reason its step will be retried.
RETRY_PREFIX = "will be retried: "
#: An ``awaiting_upload`` item is only looked at this long after creation: its upload URL expires
#: after 15 minutes, so an older one with no original is one the user never uploaded.
UPLOAD_WINDOW = timedelta(hours=24)

#: An analysis row as :class:`Analysis` holds it (not the generated ``search_vector``).
_ANALYSIS_COLUMNS = [column for column in analyses.c if column.name != "search_vector"]


def shown_error(status: ItemStatus | str, error: str | None) -> str | None:
    """The ``error`` the API shows: a failed item's reason, or on an unfinished item why its step
    will be retried (``will be retried: <step>: <reason>``)."""
    if error and status not in FINISHED:
        return (RETRY_PREFIX + error)[:MAX_ERROR_LENGTH]
    return error


def _quiet(after_seconds: int) -> Any:
    """Unfinished, with no progress and no re-send for ``after_seconds`` (database clock)."""
    cutoff = func.now() - timedelta(seconds=after_seconds)
    return and_(
        or_(items.c.status == ItemStatus.PROCESSING,
            and_(items.c.status == ItemStatus.AWAITING_UPLOAD, items.c.created_at > func.now() - UPLOAD_WINDOW)),
        items.c.updated_at < cutoff,
        or_(items.c.resent_at.is_(None), items.c.resent_at < cutoff),
    )


def _to_embed(user_id: str | None, stale_for: tuple[str, int] | None) -> Any:
    """Current analyses with no embedding (``stale_for=None``) or none of that (model, dimensions);
    ``user_id``'s, or everyone's."""
    embedded = exists().where(embeddings.c.analysis_id == analyses.c.id)
    if stale_for is not None:
        embedded = embedded.where(embeddings.c.embedding_model == stale_for[0],
                                  embeddings.c.embedding_dimensions == stale_for[1])
    query = (select(analyses.c.id, analyses.c.item_id, analyses.c.user_id, analyses.c.raw_response)
             .join(items, items.c.current_analysis_id == analyses.c.id).where(~embedded))
    return query if user_id is None else query.where(analyses.c.user_id == user_id)


class CollectionsRepository:
    """The collections tables over one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # --- items --------------------------------------------------------------------------------

    def create_awaiting_upload(self, *, item_id: str, user_id: str, filename: str, file_path: str,
                               mime_type: str) -> None:
        """The row ``POST /items`` creates before the client uploads the bytes."""
        with self._engine.begin() as conn:
            conn.execute(items.insert().values(id=item_id, user_id=user_id, filename=filename, file_path=file_path,
                                               mime_type=mime_type, status=ItemStatus.AWAITING_UPLOAD))

    def ensure_for_upload(self, *, item_id: str, user_id: str, filename: str, file_path: str,
                          mime_type: str) -> Item:
        """The item of an uploaded object: the existing row for ``file_path`` (created by the API or
        an earlier delivery) or a new one with the derived id. Safe under concurrent calls."""
        with self._engine.begin() as conn:
            conn.execute(
                insert(items)
                .values(id=item_id, user_id=user_id, filename=filename, file_path=file_path, mime_type=mime_type,
                        status=ItemStatus.AWAITING_UPLOAD)
                .on_conflict_do_nothing()
            )
            row = conn.execute(select(items).where(items.c.file_path == file_path)).mappings().one()
        return Item.from_row(row)

    def mark_bytes_arrived(self, item_id: str) -> None:
        """``awaiting_upload`` -> ``processing`` once the original's bytes have been read (any other
        status is left as it is)."""
        with self._engine.begin() as conn:
            conn.execute(update(items).where(items.c.id == item_id, items.c.status == ItemStatus.AWAITING_UPLOAD)
                         .values(status=ItemStatus.PROCESSING, updated_at=func.now()))

    def find(self, user_id: str, item_id: str) -> Item | None:
        """The user's item, or None (also for another user's item)."""
        with self._engine.connect() as conn:
            return self._find(conn, user_id, item_id)

    @staticmethod
    def _find(conn: Connection, user_id: str, item_id: str) -> Item | None:
        row = conn.execute(select(items).where(items.c.id == item_id, items.c.user_id == user_id)).mappings().first()
        return Item.from_row(row) if row else None

    def set_status(self, item_id: str, status: ItemStatus, error: str | None = None, **values: Any) -> bool:
        """Move the item to ``status`` (with ``error`` and other ``values``) if its current status
        may move there; whether it did."""
        with self._engine.begin() as conn:
            return self._set_status(conn, item_id, status, error, **values)

    @staticmethod
    def _set_status(conn: Connection, item_id: str, status: ItemStatus, error: str | None = None,
                    **values: Any) -> bool:
        if error is not None:
            error = error[:MAX_ERROR_LENGTH]
        return conn.execute(
            update(items).where(items.c.id == item_id, items.c.status.in_(TRANSITIONS.sources_of(status)))
            .values(status=status, error=error, updated_at=func.now(), **values)
        ).rowcount == 1

    def start_reanalysis(self, user_id: str, item_id: str) -> Item | None:
        """The user's item as it was read (None when it is not theirs), moved to ``processing``
        in the same transaction if its image was processed (it has a thumbnail)."""
        with self._engine.begin() as conn:
            item = self._find(conn, user_id, item_id)
            if item is not None and item.thumbnail_path:
                self._set_status(conn, item_id, ItemStatus.PROCESSING)
        return item

    def note_retry(self, item_id: str, reason: str) -> None:
        """Record why a pipeline step failed and will be retried (``<step>: <reason>``). The status is
        unchanged, so an unfinished item with an ``error`` is one waiting for a retry, until the retry
        succeeds and clears it (see :func:`shown_error`)."""
        try:
            with self._engine.begin() as conn:
                conn.execute(update(items).where(items.c.id == item_id)
                             .values(error=reason[:MAX_ERROR_LENGTH], updated_at=func.now()))
        except Exception:  # noqa: BLE001 - best effort: the database may be the dependency that is down
            log.warning("item %s: could not record the retry reason", item_id, exc_info=True)

    def delete_owned(self, user_id: str, item_id: str) -> None:
        """Delete the user's item row (its analyses and embeddings cascade)."""
        with self._engine.begin() as conn:
            conn.execute(delete(items).where(items.c.id == item_id, items.c.user_id == user_id))

    def list_page(self, user_id: str, limit: int, cursor: str | None = None, category: str | None = None,
                  status: str | None = None) -> ItemPage:
        """The caller's items, newest first, with their current analysis's category/headline;
        ``category`` and ``status`` narrow them (an unknown status matches nothing). The cursor
        (:data:`paging.PLAIN`) is the last item's ``created_at`` as the API shows it and its id;
        :class:`paging.BadCursor` for one it did not issue."""
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
            created_at, last_id = _position(paging.PLAIN.decode(cursor))
            query = query.where(or_(items.c.created_at < created_at,
                                    and_(items.c.created_at == created_at, items.c.id < last_id)))
        with self._engine.connect() as conn:
            rows = [ListedItem(Item.from_row(row), row["category"], row["headline"], row["summary"])
                    for row in conn.execute(query).mappings()]
        if len(rows) <= limit:
            return ItemPage(rows, None)
        rows = rows[:limit]
        last = rows[-1].item
        assert last.created_at is not None
        return ItemPage(rows, paging.PLAIN.encode([iso_offset(last.created_at), last.id]))

    # --- the sweeper's view -------------------------------------------------------------------

    def quiet_page(self, after_seconds: int, size: int, last: tuple[datetime, str] | None = None) -> list[QuietItem]:
        """Up to ``size`` quiet items, oldest progress first, after position ``last`` (updated_at, id)."""
        embedded = select(embeddings.c.id).where(embeddings.c.analysis_id == items.c.current_analysis_id).exists()
        query = select(items, embedded.label("embedded")).where(_quiet(after_seconds))
        if last is not None:
            query = query.where(or_(items.c.updated_at > last[0],
                                    and_(items.c.updated_at == last[0], items.c.id > last[1])))
        query = query.order_by(items.c.updated_at, items.c.id).limit(size)
        with self._engine.connect() as conn:
            return [QuietItem(Item.from_row(row), bool(row["embedded"])) for row in conn.execute(query).mappings()]

    def claim_resend(self, item: Item, after_seconds: int, step: str, count: int) -> bool:
        """Record the ``count``-th re-send of ``step``, only if the item is still quiet and was not
        re-sent or changed since it was read: one of any number of concurrent sweeps wins."""
        return self._claim_quiet(item, after_seconds, resend_step=step, resend_count=count, resent_at=func.now())

    def claim_failure(self, item: Item, after_seconds: int, reason: str) -> bool:
        """Mark the item failed with ``reason``, on the same condition as :meth:`claim_resend`."""
        return self._claim_quiet(item, after_seconds, status=ItemStatus.FAILED, error=reason[:MAX_ERROR_LENGTH],
                                 updated_at=func.now())

    def _claim_quiet(self, item: Item, after_seconds: int, **values: Any) -> bool:
        if "status" in values and not TRANSITIONS.allows(item.status, values["status"]):
            raise ValueError(f"an item may not move from {item.status} to {values['status']}")
        statement = (update(items)
                     .where(items.c.id == item.id, items.c.status == item.status,
                            items.c.resend_count == item.resend_count, _quiet(after_seconds))
                     .values(**values))
        with self._engine.begin() as conn:
            return conn.execute(statement).rowcount == 1

    # --- analyses -----------------------------------------------------------------------------

    def find_with_analysis(self, user_id: str, item_id: str) -> tuple[Item, Analysis | None] | None:
        """The user's item and its current analysis (None before the first), read on one
        connection; None when the user has no such item."""
        with self._engine.connect() as conn:
            item = self._find(conn, user_id, item_id)
            if item is None:
                return None
            if not item.current_analysis_id:
                return item, None
            row = conn.execute(select(*_ANALYSIS_COLUMNS).where(analyses.c.id == item.current_analysis_id)
                               ).mappings().first()
        return item, Analysis.from_row(row) if row else None

    def analyses_of(self, user_id: str, item_id: str) -> list[Analysis] | None:
        """Every version of the user's item's analysis, newest first, read on one connection with
        the item; None when the user has no such item."""
        with self._engine.connect() as conn:
            if self._find(conn, user_id, item_id) is None:
                return None
            rows = conn.execute(
                select(*_ANALYSIS_COLUMNS).where(analyses.c.item_id == item_id, analyses.c.user_id == user_id)
                .order_by(analyses.c.version.desc())
            ).mappings().all()
        return [Analysis.from_row(row) for row in rows]

    def current_analyses(self, user_id: str, item_ids: Sequence[str]) -> list[Analysis]:
        """The current analyses of the user's items among ``item_ids`` (in no particular order)."""
        if not item_ids:
            return []
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(*_ANALYSIS_COLUMNS).join(items, items.c.current_analysis_id == analyses.c.id)
                .where(items.c.user_id == user_id, items.c.id.in_(list(item_ids)))
            ).mappings().all()
        return [Analysis.from_row(row) for row in rows]

    def analysis_for_request(self, request_id: str) -> str | None:
        """The id of the analysis written for ``request_id``, if any."""
        with self._engine.connect() as conn:
            return self._analysis_for_request(conn, request_id)

    @staticmethod
    def _analysis_for_request(conn: Connection, request_id: str) -> str | None:
        return conn.execute(select(analyses.c.id).where(analyses.c.request_id == request_id)).scalar()

    def add_analysis(self, *, item_id: str, user_id: str, request_id: str, data: Mapping[str, Any],
                     provider_used: str, model_used: str, trace_id: str) -> str | None:
        """Under the item's row lock, insert its next analysis version for ``request_id`` and make
        it current (the item stays, or becomes, ``processing`` until it is embedded). The id of
        the analysis for ``request_id`` (an earlier one for a duplicate request), or None when
        the item no longer exists."""
        with self._engine.begin() as conn:
            locked = conn.execute(select(items.c.id).where(items.c.id == item_id).with_for_update()).first()
            if locked is None:
                return None
            existing = self._analysis_for_request(conn, request_id)
            if existing is not None:
                return existing
            version = conn.execute(
                select(func.coalesce(func.max(analyses.c.version), 0) + 1).where(analyses.c.item_id == item_id)
            ).scalar_one()
            analysis_id = str(uuid.uuid4())
            conn.execute(
                insert(analyses).values(
                    id=analysis_id, item_id=item_id, user_id=user_id, version=version, request_id=request_id,
                    category=str(data["category"]).strip().lower()[:255], headline=data.get("headline"),
                    summary=data.get("summary"), raw_response=dict(data), provider_used=provider_used,
                    model_used=model_used, trace_id=trace_id[:128],
                )
            )
            self._set_status(conn, item_id, ItemStatus.PROCESSING, current_analysis_id=analysis_id)
        return analysis_id

    # --- embeddings ---------------------------------------------------------------------------

    def embed_candidate(self, analysis_id: str, user_id: str) -> EmbedCandidate | None:
        """The user's analysis with its item's state, or None when it no longer exists."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(analyses.c.id, analyses.c.item_id, analyses.c.user_id, analyses.c.raw_response,
                       items.c.current_analysis_id, items.c.status,
                       exists().where(embeddings.c.analysis_id == analyses.c.id).label("embedded"))
                .join(items, items.c.id == analyses.c.item_id)
                .where(analyses.c.id == analysis_id, analyses.c.user_id == user_id)
            ).mappings().first()
        if row is None:
            return None
        return EmbedCandidate(ToEmbed.from_row(row), row["current_analysis_id"] == analysis_id,
                              bool(row["embedded"]), ItemStatus(row["status"]))

    def count_to_embed(self, user_id: str | None = None, stale_for: tuple[str, int] | None = None) -> int:
        """How many current analyses have no embedding, or (``stale_for``) none of that
        (model, dimensions); ``user_id``'s, or everyone's."""
        with self._engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(_to_embed(user_id, stale_for).subquery())).scalar_one()

    def to_embed_page(self, after_id: str, size: int, user_id: str | None = None,
                      stale_for: tuple[str, int] | None = None) -> list[ToEmbed]:
        """The next ``size`` analyses :meth:`count_to_embed` counts, in id order after ``after_id``."""
        query = _to_embed(user_id, stale_for).where(analyses.c.id > after_id).order_by(analyses.c.id).limit(size)
        with self._engine.connect() as conn:
            return [ToEmbed.from_row(row) for row in conn.execute(query).mappings()]

    def store_embeddings(self, entries: Sequence[tuple[ToEmbed, dict[str, Any], Sequence[float]]],
                         model: str, dimensions: int, replace: bool = False) -> int:
        """Insert one embedding per (analysis, source, vector) in one transaction, under the row locks
        of their items (taken in id order, so concurrent batches cannot deadlock); returns how many
        were stored for a still-current analysis, whose items become ``ready`` with their older
        embeddings removed. ``replace``: overwrite an analysis's existing embedding (re-embedding with
        another model) instead of keeping it."""
        by_item = {entry[0].item_id: entry for entry in entries}
        with self._engine.begin() as conn:
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
            conn.execute(update(items).where(items.c.id.in_(item_ids), items.c.status.in_(TRANSITIONS.sources_of(ItemStatus.READY)))
                         .values(status=ItemStatus.READY, error=None, updated_at=func.now()))
        return len(fresh)


def read_cards(conn: Connection, user_id: str, item_ids: Sequence[str]) -> dict[str, ItemCard]:
    """What a search result shows of each of the user's analysed items among ``item_ids``, read
    on ``conn``: inside the search's own transaction (one checkout per search)."""
    if not item_ids:
        return {}
    rows = conn.execute(
        select(items.c.id, items.c.thumbnail_path, analyses.c.category, analyses.c.headline, analyses.c.summary)
        .join(analyses, analyses.c.id == items.c.current_analysis_id)
        .where(items.c.user_id == user_id, items.c.id.in_(list(item_ids)))
    ).all()
    return {row.id: ItemCard(row.id, row.thumbnail_path, row.category, row.headline, row.summary) for row in rows}


def _position(value: Any) -> tuple[datetime, str]:
    """A decoded list cursor: (created_at, item id); :class:`paging.BadCursor` for anything else."""
    try:
        created_at, item_id = value
        return parse_iso(created_at), str(item_id)
    except (ValueError, TypeError, AttributeError):
        raise paging.BadCursor(paging.CURSOR_MESSAGE) from None
