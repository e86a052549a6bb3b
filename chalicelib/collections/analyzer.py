"""``ImageProcessed`` -> Claude vision analysis -> ``analyses`` row -> ``AnalysisComplete``.

One analysis version per request: the event's ``request_id`` (an upload's content hash or a
re-analysis request) is unique in ``analyses``; a duplicate delivery re-publishes the existing
analysis's event instead of calling Claude again. Unusable model output (the provider raises
``ProviderOutputError``: refusal, max_tokens, off-schema) marks the item failed, writes nothing
and publishes nothing; ``ProviderUnavailable`` propagates so the event source retries.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import insert

from chalicelib import tracing
from chalicelib.collections import items
from chalicelib.collections.analysis_schema import ANALYSIS_SCHEMA, INSTRUCTION, MAX_TOKENS, SYSTEM_PROMPT
from chalicelib.collections.events import AnalysisComplete, ImageProcessed, Outcome, publish
from chalicelib.collections.tables import analyses
from chalicelib.collections.thumbnail_store import image_for_analysis
from chalicelib.ports import BlobStore, BlobStoreUnavailable, EventBus
from chalicelib.providers import ProviderError, ProviderOutputError, ProviderUnavailable

log = logging.getLogger(__name__)


def analyze_item(
    *,
    engine: Engine,
    blobs: BlobStore,
    llm: Any,
    bus: EventBus,
    bucket: str,
    detail: Mapping[str, Any],
    event_id: str,
) -> Outcome:
    """Handle one ``ImageProcessed`` event (``event_id`` is the EventBridge event id)."""
    processed = ImageProcessed.parse(detail, event_id)
    item_id, user_id, request_id = processed.item_id, processed.user_id, processed.request_id
    with engine.connect() as conn:
        item = conn.execute(
            select(items.items).where(items.items.c.id == item_id, items.items.c.user_id == user_id)
        ).mappings().first()
        existing = _by_request(conn, request_id)
    if item is None:
        return Outcome("skipped", item_id or None, reason="item no longer exists")
    started_at = processed.started_at
    if existing is not None:
        _publish(bus, item_id, existing, user_id, started_at)
        return Outcome("duplicate", item_id, analysis_id=existing)
    try:
        found = image_for_analysis(blobs, bucket, item)  # an expired thumbnail is rendered again
    except BlobStoreUnavailable as exc:
        items.note_retry(engine, item_id, f"analysis: {exc}")
        raise  # EventBridge retries the delivery
    if found is None:
        return Outcome("skipped", item_id, reason="image no longer exists")
    image, media_type = found
    try:
        result = llm.complete_json(
            system=SYSTEM_PROMPT,
            prompt=INSTRUCTION,
            schema=ANALYSIS_SCHEMA,
            images=[{"media_type": media_type, "data": image}],
            max_tokens=MAX_TOKENS,
        )
    except ProviderUnavailable as exc:
        items.note_retry(engine, item_id, f"analysis: {exc}")
        raise  # EventBridge retries the delivery
    except (ProviderOutputError, ProviderError) as exc:  # retrying the same request cannot help
        what = "the model's output was unusable" if isinstance(exc, ProviderOutputError) else "the request was refused"
        reason = f"analysis failed: {what} ({exc})"
        log.warning("item %s: %s", item_id, reason)
        with engine.begin() as conn:
            if items.get_for_update(conn, item_id) is not None:
                items.set_status(conn, item_id, "failed", error=reason)
        return Outcome("failed", item_id, reason=reason)
    trace_id = tracing.parse(detail.get("trace_id")) or tracing.current()
    analysis_id = _store(engine, item_id, user_id, request_id, result, trace_id=trace_id)
    if analysis_id is None:
        return Outcome("skipped", item_id, reason="item deleted during analysis")
    _publish(bus, item_id, analysis_id, user_id, started_at)
    return Outcome("done", item_id, analysis_id=analysis_id)


def _by_request(conn: Any, request_id: str) -> str | None:
    return conn.execute(select(analyses.c.id).where(analyses.c.request_id == request_id)).scalar()


def _store(engine: Engine, item_id: str, user_id: str, request_id: str, result: Any,
           trace_id: str) -> str | None:
    """Insert the next version under the item's row lock; the item points at it."""
    data = dict(result.data)
    with engine.begin() as conn:
        if items.get_for_update(conn, item_id) is None:
            return None
        existing = _by_request(conn, request_id)
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
                summary=data.get("summary"), raw_response=data, provider_used=result.provider_used,
                model_used=result.model_used, trace_id=trace_id[:128],
            )
        )
        items.set_status(conn, item_id, "processing", current_analysis_id=analysis_id)
    return analysis_id


def _publish(bus: EventBus, item_id: str, analysis_id: str, user_id: str, started_at: str | None = None) -> None:
    publish(bus, AnalysisComplete(item_id=item_id, analysis_id=analysis_id, user_id=user_id, started_at=started_at))
