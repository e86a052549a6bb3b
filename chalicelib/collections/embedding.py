"""``AnalysisComplete`` -> Voyage document embedding -> ``embeddings`` row -> item ``ready``.

One embedding per analysis (unique ``analysis_id``, insert-or-nothing), and only for the
item's current analysis: a late event for an older version is skipped, and storing the
current one removes the item's older embeddings so search sees one vector per item.
:func:`backfill_embeddings` embeds analyses that lack one, 128 documents per provider call.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from chalicelib.collections import repository
from chalicelib.collections.events import Outcome
from chalicelib.collections.model import ItemStatus, ToEmbed
from chalicelib.collections.tables import EMBEDDING_DIMENSIONS
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
        candidate = repository.embed_candidate(conn, analysis_id, user_id)
    if candidate is None:
        return Outcome("skipped", reason="analysis no longer exists", analysis_id=analysis_id)
    item_id = candidate.analysis.item_id
    if not candidate.current:
        return Outcome("skipped", item_id, reason="a newer analysis exists", analysis_id=analysis_id)
    if candidate.embedded:
        if candidate.status != ItemStatus.READY:
            with engine.begin() as conn:
                repository.set_status(conn, item_id, ItemStatus.READY)
        return Outcome("duplicate", item_id, analysis_id=analysis_id)
    document, source = embedding_document(candidate.analysis.raw_response)
    if not document:
        with engine.begin() as conn:
            repository.set_status(conn, item_id, ItemStatus.FAILED, error="the analysis has no text to embed")
        return Outcome("failed", item_id, reason="empty document", analysis_id=analysis_id)
    try:
        result = embedder.embed([document], input_type="document")
    except ProviderUnavailable as exc:
        repository.note_retry(engine, item_id, f"embedding: {exc}")
        raise  # EventBridge retries the delivery
    except ProviderError as exc:  # a 4xx: retrying the same request cannot help
        reason = f"embedding failed: {exc}"
        log.warning("item %s: %s", item_id, reason)
        with engine.begin() as conn:
            repository.set_status(conn, item_id, ItemStatus.FAILED, error=reason)
        return Outcome("failed", item_id, reason=reason, analysis_id=analysis_id)
    stored = _store(engine, [(candidate.analysis, source)], result)
    return Outcome("done" if stored else "skipped", item_id, analysis_id=analysis_id)


def _check(result: Any, count: int) -> None:
    if len(result.vectors) != count:
        raise ValueError(f"embedder returned {len(result.vectors)} vectors for {count} documents")
    # A model may have fewer dimensions than the column (zero-padded, cosine unchanged), never more.
    if result.dimensions > EMBEDDING_DIMENSIONS or any(len(v) != EMBEDDING_DIMENSIONS for v in result.vectors):
        raise ValueError(f"embedding model {result.model} gives {result.dimensions} dimensions; "
                         f"the embeddings table holds {EMBEDDING_DIMENSIONS}")


def _store(engine: Engine, rows: Sequence[tuple[ToEmbed, dict[str, Any]]], result: Any,
           replace: bool = False) -> int:
    """Store the embedder's vectors for (analysis, source) pairs, checked first
    (:func:`repository.store_embeddings`: the items of still-current analyses become ``ready``)."""
    _check(result, len(rows))
    entries = [(row, source, vector) for (row, source), vector in zip(rows, result.vectors, strict=True)]
    return repository.store_embeddings(engine, entries, result.model, result.dimensions, replace=replace)


@dataclass(frozen=True)
class BackfillReport:
    embedded: int
    calls: int


def backfill_embeddings(engine: Engine, embedder: Any, limit: int | None = None,
                        batch_size: int = BATCH_SIZE, user_id: str | None = None) -> BackfillReport:
    """Embed current analyses that have no embedding (all users, or ``user_id``'s),
    ``batch_size`` documents per call: ``ceil(N / batch_size)`` provider calls for N analyses."""
    selection = repository.unembedded(user_id)
    embedded = calls = seen = 0
    last_id = ""
    while limit is None or seen < limit:
        size = batch_size if limit is None else min(batch_size, limit - seen)
        with engine.connect() as conn:
            page = repository.page_after(conn, selection, last_id, size)
        if not page:
            break
        seen += len(page)
        last_id = page[-1].id
        batch = []
        for row in page:
            document, source = embedding_document(row.raw_response)
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
    selection = repository.stale(model, dimensions, user_id)
    with engine.connect() as conn:
        total = repository.count(conn, selection)
    if limit is not None:
        total = min(total, limit)
    done = calls = 0
    last_id = ""
    while done < total:
        with engine.connect() as conn:
            page = repository.page_after(conn, selection, last_id, min(batch_size, total - done))
        if not page:
            break
        last_id = page[-1].id
        batch = []
        for row in page:
            document, source = embedding_document(row.raw_response)
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
        remaining = repository.count(conn, selection)
    log.info("reembed: %d analyses to %s (%d dims) in %d calls, %d still stale", done, model, dimensions,
             calls, remaining)
    return ReembedReport(model, dimensions, done, calls, remaining)
