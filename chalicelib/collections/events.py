"""The pipeline's events, one dataclass per type, built and parsed only here, and the ``Outcome``
every handler step returns.

``ImageProcessed`` (the image processor -> the analyzer) and ``AnalysisComplete`` (the analyzer ->
the embedder) travel on EventBridge as ``detail`` JSON objects: :meth:`to_detail` writes one,
:meth:`parse` reads one (missing fields become empty strings, so a malformed event is skipped by
its handler rather than crashing it). ``started_at`` is when the pipeline run began (an upload's
S3 event time, or a re-analysis request): it is absent on a sweeper re-send, whose latency would
measure the time the item was stuck, not the pipeline.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from chalicelib.ports import EventBus


def _text(detail: Mapping[str, Any], name: str) -> str:
    return str(detail.get(name) or "")


def _started_at(detail: Mapping[str, Any]) -> str | None:
    value = detail.get("started_at")
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class ImageProcessed:
    """An item's thumbnail is stored: analyse it. ``request_id`` names one analysis request (the
    upload's content, or one re-analysis), so a redelivery makes no second analysis."""

    SOURCE: ClassVar[str] = "collections.imageprocessor"
    DETAIL_TYPE: ClassVar[str] = "ImageProcessed"

    item_id: str
    user_id: str
    bucket: str
    original_key: str
    thumbnail_key: str
    request_id: str
    started_at: str | None = None

    def to_detail(self) -> dict[str, str]:
        detail = {"item_id": self.item_id, "user_id": self.user_id, "bucket": self.bucket,
                  "original_key": self.original_key, "thumbnail_key": self.thumbnail_key,
                  "request_id": self.request_id}
        if self.started_at:
            detail["started_at"] = self.started_at
        return detail

    @classmethod
    def parse(cls, detail: Mapping[str, Any], event_id: str = "") -> ImageProcessed:
        """``request_id`` defaults to the EventBridge event id (an event from an older sender);
        without both, a fresh id (never a shared "event:" that would make every such event a
        duplicate of the first)."""
        return cls(item_id=_text(detail, "item_id"), user_id=_text(detail, "user_id"),
                   bucket=_text(detail, "bucket"), original_key=_text(detail, "original_key"),
                   thumbnail_key=_text(detail, "thumbnail_key"),
                   request_id=_text(detail, "request_id") or f"event:{event_id or uuid.uuid4()}",
                   started_at=_started_at(detail))


@dataclass(frozen=True)
class AnalysisComplete:
    """An analysis is stored and is the item's current one: embed it."""

    SOURCE: ClassVar[str] = "collections.analyzer"
    DETAIL_TYPE: ClassVar[str] = "AnalysisComplete"

    item_id: str
    analysis_id: str
    user_id: str
    started_at: str | None = None

    def to_detail(self) -> dict[str, str]:
        detail = {"item_id": self.item_id, "analysis_id": self.analysis_id, "user_id": self.user_id}
        if self.started_at:
            detail["started_at"] = self.started_at
        return detail

    @classmethod
    def parse(cls, detail: Mapping[str, Any]) -> AnalysisComplete:
        return cls(item_id=_text(detail, "item_id"), analysis_id=_text(detail, "analysis_id"),
                   user_id=_text(detail, "user_id"), started_at=_started_at(detail))


PipelineEvent = ImageProcessed | AnalysisComplete


def publish(bus: EventBus, event: PipelineEvent) -> str:
    """Put ``event`` on the bus; returns its EventBridge id."""
    return bus.put_event(event.SOURCE, event.DETAIL_TYPE, event.to_detail())


@dataclass(frozen=True)
class Outcome:
    """What one delivery did: ``done``, ``duplicate`` (already done; events re-published),
    ``failed`` (the item is marked failed; not retried), ``skipped`` (not ours, stale or gone)."""

    status: str
    item_id: str | None = None
    reason: str = ""
    analysis_id: str | None = None
    #: The analyzer's model answer: ``valid``, ``repaired``, ``reasked``, ``unusable`` (or "").
    output: str = ""
