"""What crosses the pages seams: activity, generation jobs and their statuses, cached pages.

Times are naive UTC, as the pages tables store them (:func:`chalicelib.timeutil.utcnow_naive`)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, Self

from chalicelib.timeutil import iso


class JobStatus(StrEnum):
    """``status`` of a generation job (a ``str``, so the column holds the plain value)."""

    #: Waiting for a claimant (after a failed attempt: once its retry delay is over).
    QUEUED = "queued"
    #: Claimed: a claimant holds its token until the lease expires.
    PROCESSING = "processing"
    #: Its page is cached.
    COMPLETED = "completed"
    #: Its attempts are used up.
    FAILED = "failed"


#: The allowed moves: a claim takes a queued job, or a processing one whose lease expired; a
#: claimant completes its job, or fails an attempt (queued again, or failed at the last attempt);
#: the last attempt's expired lease fails the job. Completed and failed are final.
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.PROCESSING}),
    JobStatus.PROCESSING: frozenset({JobStatus.PROCESSING, JobStatus.COMPLETED, JobStatus.QUEUED, JobStatus.FAILED}),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.FAILED: frozenset(),
}


def sources_of(target: JobStatus | str) -> tuple[JobStatus, ...]:
    """Every status a job may move to ``target`` from (the guard of a conditional UPDATE)."""
    return tuple(status for status, targets in TRANSITIONS.items() if JobStatus(target) in targets)


#: ``pattern`` of a job created because a user asked for the page (no prediction).
REQUEST_PATTERN = {"kind": "request"}


def cache_key(user_id: str, page_type: str) -> str:
    """The one cache-key algorithm the API and the generator share."""
    return hashlib.sha256(f"ambient-page\n{user_id}\n{page_type}".encode()).hexdigest()


def _from_row(cls: type[Any], row: Mapping[str, Any]) -> Any:
    return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class Activity:
    """One validated event of a ``POST /activity`` batch (``occurred_at`` None: when stored)."""

    action: str
    page: str | None = None
    intent: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class ActivityEvent:
    """An activity event as stored."""

    id: int
    user_id: str
    page: str | None
    intent: str | None
    action: str
    metadata: dict[str, Any]
    occurred_at: datetime
    created_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        return _from_row(cls, row)


@dataclass(frozen=True)
class GenerationJob:
    """A row of the generation queue: one page to generate for one user."""

    id: str
    user_id: str
    page_type: str
    cache_key: str
    status: JobStatus
    confidence: float
    pattern: dict[str, Any]
    attempts: int
    claim_token: str | None
    lease_expires_at: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        return _from_row(cls, {**row, "status": JobStatus(row["status"])})

    @property
    def requested(self) -> bool:
        """Created because a user asked for the page, not predicted by the detector."""
        return (self.pattern or {}).get("kind") == REQUEST_PATTERN["kind"]


@dataclass(frozen=True)
class GeneratedPage:
    """A page the LLM made for a job, before it is cached."""

    components: dict[str, Any]
    provider_used: str
    model_used: str
    relevance_score: float = 0.0


@dataclass(frozen=True)
class CachedPage:
    """A row of the page cache."""

    cache_key: str
    user_id: str
    page_type: str
    components: dict[str, Any]
    relevance_score: float
    provider_used: str
    model_used: str
    generated_at: datetime
    expires_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        return _from_row(cls, row)

    def to_api(self, source: str) -> dict[str, Any]:
        """The ``GET /pages`` and ``GET /pages/{page_type}`` body; ``source``: cache or generated."""
        return {"page_type": self.page_type, "components": self.components, "source": source,
                "relevance_score": self.relevance_score, "provider_used": self.provider_used,
                "model_used": self.model_used, "generated_at": iso(self.generated_at),
                "expires_at": iso(self.expires_at)}
