"""``ImageProcessed`` -> Claude vision analysis -> ``analyses`` row -> ``AnalysisComplete``.

One analysis version per request: the event's ``request_id`` (an upload's content hash or a
re-analysis request) is unique in ``analyses``; a duplicate delivery re-publishes the existing
analysis's event instead of calling Claude again.

Claude is shown the original image (:mod:`~chalicelib.collections.vision_input`: at most 1568 px,
within the API's size limit), not the thumbnail. Its answer is validated here again, whatever the
provider did. An answer that breaks the schema is repaired where that is safe
(:mod:`~chalicelib.collections.analysis_repair`); one that is still unusable (or cut at
max_tokens, or without the tool) is asked for once more with the error in the prompt. Only when
the second answer is unusable too (or the model refused) is the item marked failed: nothing is
written and nothing published. ``Outcome.output`` says which (``valid``, ``repaired``,
``reasked``, ``unusable``) for the metrics. ``ProviderUnavailable`` propagates so the event
source retries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib import tracing
from chalicelib.collections.analysis_repair import repair
from chalicelib.collections.analysis_schema import ANALYSIS_SCHEMA, INSTRUCTION, MAX_TOKENS, SYSTEM_PROMPT
from chalicelib.collections.events import AnalysisComplete, ImageProcessed, Outcome, publish
from chalicelib.collections.model import Item, ItemStatus
from chalicelib.collections.repository import CollectionsRepository
from chalicelib.collections.thumbnails import DEFAULT_MAX_PIXELS
from chalicelib.collections.vision_input import VisionImage, image_for_analysis
from chalicelib.ports import BlobNotFound, BlobStore, BlobStoreUnavailable, EventBus
from chalicelib.providers import ProviderError, ProviderOutputError, ProviderRefusal, ProviderUnavailable
from chalicelib.providers.base import SchemaMismatch, validate

log = logging.getLogger(__name__)


def analyze_item(
    *,
    repository: CollectionsRepository,
    blobs: BlobStore,
    llm: Any,
    bus: EventBus,
    bucket: str,
    detail: Mapping[str, Any],
    event_id: str,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Outcome:
    """Handle one ``ImageProcessed`` event (``event_id`` is the EventBridge event id)."""
    processed = ImageProcessed.parse(detail, event_id)
    item_id, user_id, request_id = processed.item_id, processed.user_id, processed.request_id
    item = repository.find(user_id, item_id)
    existing = repository.analysis_for_request(request_id)
    if item is None:
        return Outcome("skipped", item_id or None, reason="item no longer exists")
    started_at = processed.started_at
    if existing is not None:
        _publish(bus, item_id, existing, user_id, started_at)
        return Outcome("duplicate", item_id, analysis_id=existing)
    try:
        image = None
        if getattr(llm, "reads_original", False):  # the offline analyzer: full-size text and EXIF
            image = _original(blobs, bucket, item)
        if image is None:
            image = image_for_analysis(blobs, bucket, item, max_pixels=max_pixels)
    except BlobStoreUnavailable as exc:
        repository.note_retry(item_id, f"analysis: {exc}")
        raise  # EventBridge retries the delivery
    if image is None:
        return Outcome("skipped", item_id, reason="image no longer exists")
    try:
        result, output = _ask_with_one_retry(llm, image, item_id)
    except ProviderUnavailable as exc:
        repository.note_retry(item_id, f"analysis: {exc}")
        raise  # EventBridge retries the delivery
    except (ProviderOutputError, ProviderError) as exc:  # asking the same again cannot help
        what = "the model's output was unusable" if isinstance(exc, ProviderOutputError) else "the request was refused"
        reason = f"analysis failed: {what} ({exc})"
        log.warning("item %s: %s", item_id, reason)
        repository.set_status(item_id, ItemStatus.FAILED, error=reason)
        output = "unusable" if isinstance(exc, ProviderOutputError) else ""
        return Outcome("failed", item_id, reason=reason, output=output)
    trace_id = tracing.parse(detail.get("trace_id")) or tracing.current()
    analysis_id = repository.add_analysis(item_id=item_id, user_id=user_id, request_id=request_id,
                                          data=result.data, provider_used=result.provider_used,
                                          model_used=result.model_used, trace_id=trace_id)
    if analysis_id is None:
        return Outcome("skipped", item_id, reason="item deleted during analysis", output=output)
    _publish(bus, item_id, analysis_id, user_id, started_at)
    return Outcome("done", item_id, analysis_id=analysis_id, output=output)


@dataclass(frozen=True)
class _Answer:
    data: dict[str, Any]
    provider_used: str
    model_used: str


#: Appended to the instruction when the first answer could not be used.
REASK = ("\n\nYour previous answer for this image could not be used: {error}\n"
         "Answer again with the tool: every required field present, each in the requested type, "
         "and short enough to finish.")


def _ask_with_one_retry(llm: Any, image: VisionImage, item_id: str) -> tuple[_Answer, str]:
    """A usable analysis and how it was obtained (``valid``, ``repaired`` or ``reasked``);
    raises :class:`ProviderOutputError` when the second answer is unusable too."""
    try:
        answer, changes = _ask(llm, image, INSTRUCTION)
    except ProviderRefusal:
        raise
    except ProviderOutputError as first:
        # Only where it broke: the message quotes the model's text (the user's data).
        log.info("item %s: analysis unusable at %s; asking once more", item_id,
                 getattr(first, "where", "") or type(first).__name__)
        try:
            answer, changes = _ask(llm, image, INSTRUCTION + REASK.format(error=str(first)[:500]))
        except ProviderOutputError as second:
            raise type(second)(f"asked twice; first: {first}; then: {second}") from None
        if changes:
            log.info("item %s: second analysis repaired: %s", item_id, "; ".join(changes)[:500])
        return answer, "reasked"
    if changes:
        log.info("item %s: analysis repaired: %s", item_id, "; ".join(changes)[:500])
        return answer, "repaired"
    return answer, "valid"


def _ask(llm: Any, image: VisionImage, prompt: str) -> tuple[_Answer, list[str]]:
    """One call: the answer, repaired and validated against :data:`ANALYSIS_SCHEMA`, and the
    repairs made; :class:`ProviderOutputError` when it is unusable."""
    try:
        result = llm.complete_json(
            system=SYSTEM_PROMPT,
            prompt=prompt,
            schema=ANALYSIS_SCHEMA,
            images=[{"media_type": image.media_type, "data": image.data}],
            max_tokens=MAX_TOKENS,
        )
        data, provider_used, model_used = result.data, result.provider_used, result.model_used
    except SchemaMismatch as exc:
        unvalidated = exc.result
        data = exc.data
        provider_used = unvalidated.provider_used if unvalidated else str(getattr(llm, "provider", "unknown"))
        model_used = unvalidated.model_used if unvalidated else str(getattr(llm, "model", "unknown"))
    fixed = repair(data, ANALYSIS_SCHEMA)
    validate(fixed.value, ANALYSIS_SCHEMA)  # raises SchemaMismatch: unusable as it stands
    return _Answer(fixed.value, provider_used, model_used), fixed.changes


def _original(blobs: BlobStore, bucket: str, item: Item) -> VisionImage | None:
    """The upload's bytes as they are (EXIF kept), for a provider that reads them itself."""
    try:
        data = blobs.get(bucket, item.file_path)
    except BlobNotFound:
        return None
    return VisionImage(data, item.mime_type, 0, 0, "original")


def _publish(bus: EventBus, item_id: str, analysis_id: str, user_id: str, started_at: str | None = None) -> None:
    publish(bus, AnalysisComplete(item_id=item_id, analysis_id=analysis_id, user_id=user_id, started_at=started_at))
