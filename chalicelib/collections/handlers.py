"""Glue between ``app.py``'s handlers and the collections domain: reads the raw Lambda events
and builds the domain's dependencies from :mod:`chalicelib.wiring` and settings."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from chalicelib import observability, wiring
from chalicelib.collections.events import AnalysisComplete, ImageProcessed, Outcome
from chalicelib.collections.repository import CollectionsRepository
from chalicelib.collections.search import SearchIndex
from chalicelib.collections.service import CollectionsService
from chalicelib.settings import get_settings
from chalicelib.timeutil import parse_iso, utcnow

log = logging.getLogger(__name__)


def repository() -> CollectionsRepository:
    return CollectionsRepository(wiring.engine())


def services() -> CollectionsService:
    settings = get_settings()
    return CollectionsService(
        repository(), SearchIndex(wiring.engine(), settings.vector_exact_search_max_rows), wiring.blob_store(),
        settings.bucket_name, event_bus=lambda: wiring.event_bus(), embedder=lambda: wiring.embedder(),
        answer_llm=lambda: wiring.answer_llm(),
    )


def s3_records(event: Mapping[str, Any]) -> list[tuple[str, str, int | None, str | None]]:
    """(bucket, key, size, event time) of every record; S3 form-encodes keys, decoded here
    exactly once (as Chalice's ``S3Event.key`` does for the first record)."""
    records = []
    for record in event.get("Records") or []:
        s3 = record.get("s3") or {}
        key = (s3.get("object") or {}).get("key")
        bucket = (s3.get("bucket") or {}).get("name")
        if key and bucket:
            size = (s3.get("object") or {}).get("size")
            event_time = record.get("eventTime")
            records.append((bucket, unquote_plus(key), size if isinstance(size, int) else None,
                            event_time if isinstance(event_time, str) else None))
    return records


def seconds_since(started_at: Any) -> float | None:
    """Seconds from an ISO 8601 time (S3's ``eventTime``, ``...Z``) to now; None if unreadable."""
    if not isinstance(started_at, str):
        return None
    try:
        started = parse_iso(started_at)
    except ValueError:
        return None
    return max(0.0, (utcnow() - started).total_seconds())


def record_stage(stage: str, outcome: Any, started_at: Any) -> None:
    """Pipeline metrics of one step: ``StageSeconds`` (time since upload, when the step
    finished its work) and ``StageFailures``, both with dimension ``stage``."""
    metrics: dict[str, tuple[float, str]] = {
        "StageFailures": (1 if outcome.status == "failed" else 0, "Count")}
    elapsed = seconds_since(started_at)
    if outcome.status == "done" and elapsed is not None:
        metrics["StageSeconds"] = (round(elapsed, 3), "Seconds")
    observability.put_metrics("pipeline stage", {"stage": stage}, metrics, item_id=outcome.item_id,
                              status=outcome.status, reason=outcome.reason or None)


def _level(outcome: Outcome) -> int:
    """A step that did its work (or had none to do) is the normal case: DEBUG, so a person
    watching ``make run`` sees one line per delivery (the runtime's); anything else is INFO (a
    failure has logged its WARNING already)."""
    return logging.DEBUG if outcome.status in ("done", "skipped", "duplicate") else logging.INFO


def on_object_created(event: Mapping[str, Any]) -> list[Outcome]:
    """The image processor, for each record of one S3 notification."""
    from chalicelib.collections.processor import process_upload

    settings = get_settings()
    outcomes = []
    for bucket, key, size, event_time in s3_records(event):
        outcome = process_upload(
            repository=repository(), blobs=wiring.blob_store(), bus=wiring.event_bus(), bucket=bucket, key=key,
            size=size, max_bytes=settings.image_max_bytes, max_pixels=settings.image_max_pixels,
            started_at=event_time,
        )
        log.log(_level(outcome), "image processor %s: %s %s", key, outcome.status, outcome.reason)
        if outcome.status != "skipped" or outcome.item_id:
            record_stage("thumbnail", outcome, event_time)
        outcomes.append(outcome)
    return outcomes


def on_image_processed(event: Mapping[str, Any]) -> Outcome:
    """The analyzer, for one ``ImageProcessed`` EventBridge event."""
    from chalicelib.collections.analyzer import analyze_item

    settings = get_settings()
    outcome = analyze_item(
        repository=repository(), blobs=wiring.blob_store(), llm=wiring.llm(), bus=wiring.event_bus(),
        bucket=settings.bucket_name, detail=event.get("detail") or {}, event_id=str(event.get("id") or ""),
        max_pixels=settings.image_max_pixels,
    )
    log.log(_level(outcome), "analyzer %s: %s %s", outcome.item_id, outcome.status, outcome.reason)
    record_stage("analysis", outcome, ImageProcessed.parse(event.get("detail") or {}).started_at)
    record_analysis_output(outcome)
    return outcome


def record_analysis_output(outcome: Outcome) -> None:
    """How the model's answer was made usable, as EMF counts with dimension ``stage=analysis``:
    ``AnalysisRepaired`` (fixed in place), ``AnalysisReasked`` (asked a second time and usable)
    and ``AnalysisUnusable`` (unusable twice, or refused: the item failed)."""
    if not outcome.output:
        return
    observability.put_metrics("analysis output", {"stage": "analysis"}, {
        "AnalysisRepaired": (1 if outcome.output == "repaired" else 0, "Count"),
        "AnalysisReasked": (1 if outcome.output == "reasked" else 0, "Count"),
        "AnalysisUnusable": (1 if outcome.output == "unusable" else 0, "Count"),
    }, item_id=outcome.item_id, output=outcome.output)


def on_analysis_complete(event: Mapping[str, Any]) -> Outcome:
    """The embedder, for one ``AnalysisComplete`` EventBridge event."""
    from chalicelib.collections.embedding import embed_analysis

    complete = AnalysisComplete.parse(event.get("detail") or {})
    outcome = embed_analysis(repository=repository(), embedder=wiring.embedder(),
                             analysis_id=complete.analysis_id, user_id=complete.user_id)
    log.log(_level(outcome), "embedder %s: %s %s", outcome.analysis_id, outcome.status, outcome.reason)
    record_stage("ready", outcome, complete.started_at)
    return outcome


def run_item_sweeper(remaining_millis: Any = None) -> dict[str, Any]:
    """The scheduled item sweep, then one EMF line: ``ItemsResent`` (stuck steps sent again)
    and ``ItemsStuck`` (items marked failed by this run), dimension ``handler``."""
    from chalicelib.collections.processor import process_upload
    from chalicelib.collections.sweeper import ItemSweeper

    settings = get_settings()

    def reprocess(key: str) -> Outcome:
        outcome = process_upload(repository=repository(), blobs=wiring.blob_store(), bus=wiring.event_bus(),
                                 bucket=settings.bucket_name, key=key, max_bytes=settings.image_max_bytes,
                                 max_pixels=settings.image_max_pixels)
        log.info("item sweeper: image processor %s: %s %s", key, outcome.status, outcome.reason)
        return outcome

    report = ItemSweeper(
        repository=repository(), blobs=wiring.blob_store(), bus=wiring.event_bus(), bucket=settings.bucket_name,
        process_upload=reprocess, resend_after_seconds=settings.item_resend_after_seconds,
        resend_max=settings.item_resend_max,
    ).sweep(None if settings.is_local else remaining_millis)  # chalice's local context says 3 s, always
    result = report.to_dict()
    observability.put_metrics("item sweeper run", {"handler": "item_sweeper"},
                              {"ItemsResent": (result["resent"], "Count"), "ItemsStuck": (result["failed"], "Count")},
                              resent_by_step=result["resent_by_step"], scanned=result["scanned"])
    return result
