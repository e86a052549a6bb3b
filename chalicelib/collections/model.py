"""An item's statuses and the moves allowed between them, and the rows that cross module seams
(items and pages of them, search result cards, analyses, analyses awaiting an embedding) as
frozen domain objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, Self


class ItemStatus(StrEnum):
    """``status`` of an item (a ``str``, so the API and the column hold the plain value)."""

    #: Created by ``POST /items``; its bytes have not arrived, so nothing is running.
    AWAITING_UPLOAD = "awaiting_upload"
    #: Its bytes arrived; thumbnail, analysis or embedding is under way (or waits for a retry).
    PROCESSING = "processing"
    #: Its current analysis is embedded: searchable.
    READY = "ready"
    #: A step failed for good (bad image, refused or unusable analysis, re-sends used up).
    FAILED = "failed"


#: Where each status may go. Any upload, re-upload or re-analysis starts work again; only the
#: embedder finishes an item; failing is possible from every status; nothing returns to
#: ``AWAITING_UPLOAD`` (created only). ``READY -> READY`` is a re-upload of the same bytes.
TRANSITIONS: dict[ItemStatus, frozenset[ItemStatus]] = {
    ItemStatus.AWAITING_UPLOAD: frozenset({ItemStatus.PROCESSING, ItemStatus.FAILED}),
    ItemStatus.PROCESSING: frozenset({ItemStatus.PROCESSING, ItemStatus.READY, ItemStatus.FAILED}),
    ItemStatus.READY: frozenset({ItemStatus.PROCESSING, ItemStatus.READY, ItemStatus.FAILED}),
    ItemStatus.FAILED: frozenset({ItemStatus.PROCESSING, ItemStatus.READY, ItemStatus.FAILED}),
}

#: Statuses with nothing running: an ``error`` on any other status is a retry reason.
FINISHED = frozenset({ItemStatus.READY, ItemStatus.FAILED})


def may_move(current: ItemStatus | str, target: ItemStatus | str) -> bool:
    """Whether ``current -> target`` is an allowed move."""
    return ItemStatus(target) in TRANSITIONS[ItemStatus(current)]


def sources_of(target: ItemStatus | str) -> tuple[ItemStatus, ...]:
    """Every status an item may move to ``target`` from (the guard of a status update)."""
    return tuple(status for status, targets in TRANSITIONS.items() if ItemStatus(target) in targets)


def _from_mapping(cls: type[Any], row: Mapping[str, Any]) -> Any:
    return cls(**{f.name: row[f.name] for f in fields(cls) if f.name in row})


@dataclass(frozen=True)
class Item:
    """A row of ``items``."""

    id: str
    user_id: str
    filename: str
    file_path: str
    mime_type: str
    status: ItemStatus
    error: str | None = None
    thumbnail_path: str | None = None
    thumbnail_mime_type: str | None = None
    content_sha256: str | None = None
    current_analysis_id: str | None = None
    resend_step: str | None = None
    resend_count: int = 0
    resent_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        values = {f.name: row[f.name] for f in fields(cls) if f.name in row}
        values["status"] = ItemStatus(values["status"])
        return cls(**values)


@dataclass(frozen=True)
class ListedItem:
    """An item as ``GET /items`` lists it: the row and its current analysis's labels."""

    item: Item
    category: str | None
    headline: str | None
    summary: str | None


@dataclass(frozen=True)
class ItemPage:
    """One page of ``GET /items``: its items and the cursor of the next page (None on the last)."""

    items: list[ListedItem]
    next_cursor: str | None


@dataclass(frozen=True)
class ItemCard:
    """What a search result shows of an item: its thumbnail and its current analysis's labels."""

    item_id: str
    thumbnail_path: str | None
    category: str | None
    headline: str | None
    summary: str | None


@dataclass(frozen=True)
class Analysis:
    """A row of ``analyses`` (one version of an item's analysis)."""

    id: str
    item_id: str
    user_id: str
    version: int
    request_id: str
    category: str | None
    headline: str | None
    summary: str | None
    raw_response: dict[str, Any]
    provider_used: str | None
    model_used: str | None
    trace_id: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        return _from_mapping(cls, row)


@dataclass(frozen=True)
class ToEmbed:
    """An analysis to embed: which item and user it belongs to and its validated answer."""

    id: str
    item_id: str
    user_id: str
    raw_response: dict[str, Any]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        return _from_mapping(cls, row)


@dataclass(frozen=True)
class EmbedCandidate:
    """What the embedder needs to know of one analysis: it, whether it is still its item's current
    one, whether it has an embedding already, and the item's status."""

    analysis: ToEmbed
    current: bool
    embedded: bool
    status: ItemStatus


@dataclass(frozen=True)
class QuietItem:
    """An unfinished item whose progress stopped, for the sweeper; ``embedded``: its current
    analysis has an embedding already."""

    item: Item
    embedded: bool
