"""``AnalysisComplete`` -> Voyage document embedding -> ``embeddings`` row -> item ``ready``.

One embedding per analysis (unique ``analysis_id``, insert-or-nothing), and only for the
item's current analysis: a late event for an older version is skipped, and storing the
current one removes the item's older embeddings so search sees one vector per item.
:func:`backfill_embeddings` embeds analyses that lack one, 128 documents per provider call;
:func:`reembed` brings them all to the embedder's model. Both run :func:`_embed_pages`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.collections.events import Outcome
from chalicelib.collections.model import ItemStatus, ToEmbed
from chalicelib.collections.repository import CollectionsRepository
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


def embed_analysis(*, repository: CollectionsRepository, embedder: Any, analysis_id: str, user_id: str) -> Outcome:
    """Handle one ``AnalysisComplete`` event."""
    candidate = repository.embed_candidate(analysis_id, user_id)
    if candidate is None:
        return Outcome("skipped", reason="analysis no longer exists", analysis_id=analysis_id)
    item_id = candidate.analysis.item_id
    if not candidate.current:
        return Outcome("skipped", item_id, reason="a newer analysis exists", analysis_id=analysis_id)
    if candidate.embedded:
        if candidate.status != ItemStatus.READY:
            repository.set_status(item_id, ItemStatus.READY)
        return Outcome("duplicate", item_id, analysis_id=analysis_id)
    document, source = embedding_document(candidate.analysis.raw_response)
    if not document:
        repository.set_status(item_id, ItemStatus.FAILED, error="the analysis has no text to embed")
        return Outcome("failed", item_id, reason="empty document", analysis_id=analysis_id)
    try:
        result = embedder.embed([document], input_type="document")
    except ProviderUnavailable as exc:
        repository.note_retry(item_id, f"embedding: {exc}")
        raise  # EventBridge retries the delivery
    except ProviderError as exc:  # a 4xx: retrying the same request cannot help
        reason = f"embedding failed: {exc}"
        log.warning("item %s: %s", item_id, reason)
        repository.set_status(item_id, ItemStatus.FAILED, error=reason)
        return Outcome("failed", item_id, reason=reason, analysis_id=analysis_id)
    stored = _store(repository, [(candidate.analysis, source)], result)
    return Outcome("done" if stored else "skipped", item_id, analysis_id=analysis_id)


def _check(result: Any, count: int) -> None:
    if len(result.vectors) != count:
        raise ValueError(f"embedder returned {len(result.vectors)} vectors for {count} documents")
    # A model may have fewer dimensions than the column (zero-padded, cosine unchanged), never more.
    if result.dimensions > EMBEDDING_DIMENSIONS or any(len(v) != EMBEDDING_DIMENSIONS for v in result.vectors):
        raise ValueError(f"embedding model {result.model} gives {result.dimensions} dimensions; "
                         f"the embeddings table holds {EMBEDDING_DIMENSIONS}")


def _store(repository: CollectionsRepository, rows: Sequence[tuple[ToEmbed, dict[str, Any]]], result: Any,
           replace: bool = False) -> int:
    """Store the embedder's vectors for (analysis, source) pairs, checked first
    (:meth:`CollectionsRepository.store_embeddings`: the items of still-current analyses become
    ``ready``)."""
    _check(result, len(rows))
    entries = [(row, source, vector) for (row, source), vector in zip(rows, result.vectors, strict=True)]
    return repository.store_embeddings(entries, result.model, result.dimensions, replace=replace)


@dataclass(frozen=True)
class _Pass:
    """What one :func:`_embed_pages` run did: analyses looked at, embeddings stored, provider calls."""

    seen: int
    stored: int
    calls: int


def _embed_pages(repository: CollectionsRepository, embedder: Any, *, batch_size: int, limit: int | None,
                 user_id: str | None, stale_for: tuple[str, int] | None = None,
                 progress: Callable[[int], None] | None = None) -> _Pass:
    """Page through the current analyses to embed (:meth:`CollectionsRepository.to_embed_page`:
    unembedded, or with ``stale_for`` not of that model and dimensions), at most ``limit``, and
    embed each page's documents in one provider call, committed on its own (``stale_for``
    replaces an analysis's existing embedding). ``progress(seen)`` is called after each page."""
    seen = stored = calls = 0
    last_id = ""
    while limit is None or seen < limit:
        size = batch_size if limit is None else min(batch_size, limit - seen)
        page = repository.to_embed_page(last_id, size, user_id, stale_for)
        if not page:
            break
        seen += len(page)
        last_id = page[-1].id
        batch = []
        for row in page:
            document, source = embedding_document(row.raw_response)
            if document:
                batch.append((row, source, document))
        if batch:
            result = embedder.embed([document for _, _, document in batch], input_type="document")
            calls += 1
            stored += _store(repository, [(row, source) for row, source, _ in batch], result,
                             replace=stale_for is not None)
        if progress is not None:
            progress(seen)
    return _Pass(seen, stored, calls)


@dataclass(frozen=True)
class BackfillReport:
    embedded: int
    calls: int


def backfill_embeddings(repository: CollectionsRepository, embedder: Any, limit: int | None = None,
                        batch_size: int = BATCH_SIZE, user_id: str | None = None) -> BackfillReport:
    """Embed current analyses that have no embedding (all users, or ``user_id``'s),
    ``batch_size`` documents per call: ``ceil(N / batch_size)`` provider calls for N analyses."""
    done = _embed_pages(repository, embedder, batch_size=batch_size, limit=limit, user_id=user_id)
    log.info("backfill: embedded %d analyses in %d calls", done.stored, done.calls)
    return BackfillReport(done.stored, done.calls)


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


def reembed(repository: CollectionsRepository, embedder: Any, batch_size: int = BATCH_SIZE,
            limit: int | None = None, progress: Callable[[int, int], None] | None = None,
            user_id: str | None = None) -> ReembedReport:
    """Re-embed every current analysis whose embedding is missing or was made by another model
    or with other dimensions than ``embedder``'s, ``batch_size`` per provider call, each batch
    committed on its own. Safe to interrupt and run again: the next run selects only what is
    still stale. Search compares only same-model vectors, so items not yet re-embedded are found
    by keyword search meanwhile. ``progress(done, total)`` is called after each batch; ``user_id``
    narrows it to one user."""
    model, dimensions = _target(embedder)
    stale_for = (model, dimensions)
    total = repository.count_to_embed(user_id, stale_for)
    if limit is not None:
        total = min(total, limit)
    done = _embed_pages(repository, embedder, batch_size=batch_size, limit=total, user_id=user_id,
                        stale_for=stale_for,
                        progress=None if progress is None else lambda seen: progress(seen, total))
    remaining = repository.count_to_embed(user_id, stale_for)
    log.info("reembed: %d analyses to %s (%d dims) in %d calls, %d still stale", done.seen, model, dimensions,
             done.calls, remaining)
    return ReembedReport(model, dimensions, done.seen, done.calls, remaining)
