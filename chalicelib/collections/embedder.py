"""``AnalysisComplete`` -> Voyage document embedding -> ``embeddings`` row -> item ``ready``.

One embedding per analysis (unique ``analysis_id``, insert-or-nothing), and only for the
item's current analysis: a late event for an older version is skipped, and storing the
current one removes the item's older embeddings so search sees one vector per item.
:func:`backfill_embeddings` embeds analyses that lack one, 128 documents per provider call.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert

from chalicelib.collections import items
from chalicelib.collections.events import Outcome
from chalicelib.collections.tables import EMBEDDING_DIMENSIONS, analyses, embeddings
from chalicelib.providers import ProviderError, ProviderUnavailable

log = logging.getLogger(__name__)

BATCH_SIZE = 128
_DOCUMENT_FIELDS = ("category", "subcategories", "headline", "summary", "objects", "themes", "extracted_text")


def embedding_document(raw: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The text embedded for an analysis and the fields it came from (``embedding_source``)."""
    details = raw.get("image_details") or {}
    source = {
        "category": raw.get("category") or "",
        "subcategories": list(raw.get("subcategories") or []),
        "headline": raw.get("headline") or "",
        "summary": raw.get("summary") or "",
        "objects": list(details.get("objects") or []),
        "themes": list(details.get("themes") or []),
        "extracted_text": details.get("extracted_text") or "",
    }
    lines = []
    for name in _DOCUMENT_FIELDS:
        value = source[name]
        text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        if text.strip():
            lines.append(f"{name.replace('_', ' ').capitalize()}: {text.strip()}")
    return "\n".join(lines), {"fields": [n for n in _DOCUMENT_FIELDS if source[n]], **source}


def embed_analysis(*, engine: Engine, embedder: Any, analysis_id: str, user_id: str) -> Outcome:
    """Handle one ``AnalysisComplete`` event."""
    with engine.connect() as conn:
        row = conn.execute(
            select(analyses.c.id, analyses.c.item_id, analyses.c.user_id, analyses.c.raw_response,
                   items.items.c.current_analysis_id, items.items.c.status,
                   exists().where(embeddings.c.analysis_id == analyses.c.id).label("embedded"))
            .join(items.items, items.items.c.id == analyses.c.item_id)
            .where(analyses.c.id == analysis_id, analyses.c.user_id == user_id)
        ).mappings().first()
    if row is None:
        return Outcome("skipped", reason="analysis no longer exists", analysis_id=analysis_id)
    item_id = row["item_id"]
    if row["current_analysis_id"] != analysis_id:
        return Outcome("skipped", item_id, reason="a newer analysis exists", analysis_id=analysis_id)
    if row["embedded"]:
        if row["status"] != "ready":
            with engine.begin() as conn:
                items.set_status(conn, item_id, "ready")
        return Outcome("duplicate", item_id, analysis_id=analysis_id)
    document, source = embedding_document(row["raw_response"])
    if not document:
        with engine.begin() as conn:
            items.set_status(conn, item_id, "failed", error="the analysis has no text to embed")
        return Outcome("failed", item_id, reason="empty document", analysis_id=analysis_id)
    try:
        result = embedder.embed([document], input_type="document")
    except ProviderUnavailable as exc:
        items.note_retry(engine, item_id, f"embedding: {exc}")
        raise  # EventBridge retries the delivery
    except ProviderError as exc:  # a 4xx: retrying the same request cannot help
        reason = f"embedding failed: {exc}"
        log.warning("item %s: %s", item_id, reason)
        with engine.begin() as conn:
            items.set_status(conn, item_id, "failed", error=reason)
        return Outcome("failed", item_id, reason=reason, analysis_id=analysis_id)
    stored = _store(engine, [(dict(row), source)], result)
    return Outcome("done" if stored else "skipped", item_id, analysis_id=analysis_id)


def _check(result: Any, count: int) -> None:
    if len(result.vectors) != count:
        raise ValueError(f"embedder returned {len(result.vectors)} vectors for {count} documents")
    # A model may have fewer dimensions than the column (zero-padded, cosine unchanged), never more.
    if result.dimensions > EMBEDDING_DIMENSIONS or any(len(v) != EMBEDDING_DIMENSIONS for v in result.vectors):
        raise ValueError(f"embedding model {result.model} gives {result.dimensions} dimensions; "
                         f"the embeddings table holds {EMBEDDING_DIMENSIONS}")


def _store(engine: Engine, rows: Sequence[tuple[dict[str, Any], dict[str, Any]]], result: Any,
           replace: bool = False) -> int:
    """Insert one embedding per (analysis row, source) in one transaction, under the row locks
    of their items (taken in id order, so concurrent batches cannot deadlock); returns how many
    were stored for a still-current analysis. ``replace``: overwrite an analysis's existing
    embedding (re-embedding with another model) instead of keeping it."""
    _check(result, len(rows))
    by_item = {row["item_id"]: (row, source, vector) for (row, source), vector in zip(rows, result.vectors, strict=True)}
    with engine.begin() as conn:
        current = dict(conn.execute(
            select(items.items.c.id, items.items.c.current_analysis_id)
            .where(items.items.c.id.in_(list(by_item))).order_by(items.items.c.id).with_for_update()
        ).all())
        fresh = [entry for item_id, entry in by_item.items() if current.get(item_id) == entry[0]["id"]]
        if not fresh:
            return 0
        statement = insert(embeddings).values([
            {"id": str(uuid.uuid4()), "item_id": row["item_id"], "analysis_id": row["id"],
             "user_id": row["user_id"], "vector": list(vector), "embedding_model": result.model,
             "embedding_dimensions": result.dimensions, "embedding_source": source}
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
        item_ids = [row["item_id"] for row, _, _ in fresh]
        conn.execute(delete(embeddings).where(embeddings.c.item_id.in_(item_ids),
                                              embeddings.c.analysis_id.not_in([row["id"] for row, _, _ in fresh])))
        conn.execute(update(items.items).where(items.items.c.id.in_(item_ids))
                     .values(status="ready", error=None, updated_at=func.now()))
    return len(fresh)


@dataclass(frozen=True)
class BackfillReport:
    embedded: int
    calls: int


def backfill_embeddings(engine: Engine, embedder: Any, limit: int | None = None,
                        batch_size: int = BATCH_SIZE, user_id: str | None = None) -> BackfillReport:
    """Embed current analyses that have no embedding (all users, or ``user_id``'s),
    ``batch_size`` documents per call: ``ceil(N / batch_size)`` provider calls for N analyses."""
    base = (
        select(analyses.c.id, analyses.c.item_id, analyses.c.user_id, analyses.c.raw_response)
        .join(items.items, items.items.c.current_analysis_id == analyses.c.id)
        .where(~exists().where(embeddings.c.analysis_id == analyses.c.id))
        .order_by(analyses.c.id)
    )
    if user_id is not None:
        base = base.where(analyses.c.user_id == user_id)
    embedded = calls = seen = 0
    last_id = ""
    while limit is None or seen < limit:
        size = batch_size if limit is None else min(batch_size, limit - seen)
        with engine.connect() as conn:
            page = [dict(row) for row in conn.execute(base.where(analyses.c.id > last_id).limit(size)).mappings()]
        if not page:
            break
        seen += len(page)
        last_id = page[-1]["id"]
        batch = []
        for row in page:
            document, source = embedding_document(row["raw_response"])
            if document:
                batch.append((row, source, document))
        if not batch:
            continue
        result = embedder.embed([document for _, _, document in batch], input_type="document")
        calls += 1
        embedded += _store(engine, [(row, source) for row, source, _ in batch], result)
    log.info("backfill: embedded %d analyses in %d calls", embedded, calls)
    return BackfillReport(embedded, calls)


@dataclass(frozen=True)
class ReembedReport:
    model: str
    dimensions: int
    reembedded: int
    calls: int
    remaining: int


def _target(embedder: Any) -> tuple[str, int]:
    """The (model, dimensions) the embedder writes; asked of the provider if it does not say."""
    model, dimensions = getattr(embedder, "model", None), getattr(embedder, "dimensions", None)
    if isinstance(model, str) and isinstance(dimensions, int):
        return model, dimensions
    probe = embedder.embed(["probe"], input_type="document")
    return probe.model, probe.dimensions


def reembed(engine: Engine, embedder: Any, batch_size: int = BATCH_SIZE, limit: int | None = None,
            progress: Any = None, user_id: str | None = None) -> ReembedReport:
    """Re-embed every current analysis whose embedding is missing or was made by another model
    or with other dimensions than ``embedder``'s, ``batch_size`` per provider call, each batch
    committed on its own. Safe to interrupt and run again: the next run selects only what is
    still stale. Search compares only same-model vectors, so items not yet re-embedded are found
    by keyword search meanwhile. ``progress(done, total)`` is called after each batch; ``user_id``
    narrows it to one user."""
    model, dimensions = _target(embedder)
    current = exists().where(embeddings.c.analysis_id == analyses.c.id, embeddings.c.embedding_model == model,
                             embeddings.c.embedding_dimensions == dimensions)
    stale = (select(analyses.c.id, analyses.c.item_id, analyses.c.user_id, analyses.c.raw_response)
             .join(items.items, items.items.c.current_analysis_id == analyses.c.id)
             .where(~current).order_by(analyses.c.id))
    if user_id is not None:
        stale = stale.where(analyses.c.user_id == user_id)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(stale.subquery())).scalar_one()
    if limit is not None:
        total = min(total, limit)
    done = calls = 0
    last_id = ""
    while done < total:
        with engine.connect() as conn:
            page = [dict(row) for row in conn.execute(
                stale.where(analyses.c.id > last_id).limit(min(batch_size, total - done))).mappings()]
        if not page:
            break
        last_id = page[-1]["id"]
        batch = []
        for row in page:
            document, source = embedding_document(row["raw_response"])
            if document:
                batch.append((row, source, document))
        if batch:
            result = embedder.embed([document for _, _, document in batch], input_type="document")
            calls += 1
            _store(engine, [(row, source) for row, source, _ in batch], result, replace=True)
        done += len(page)
        if progress is not None:
            progress(done, total)
    with engine.connect() as conn:
        remaining = conn.execute(select(func.count()).select_from(stale.subquery())).scalar_one()
    log.info("reembed: %d analyses to %s (%d dims) in %d calls, %d still stale", done, model, dimensions,
             calls, remaining)
    return ReembedReport(model, dimensions, done, calls, remaining)
