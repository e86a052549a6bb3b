"""The ambient pages use cases: record activity, serve pages, detect patterns, generate."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from datetime import timedelta
from typing import Any

from chalicelib import errors
from chalicelib.pages.activity import validate_activity
from chalicelib.pages.detector import PAGE_TYPE, page_type_of
from chalicelib.pages.generation import activity_context, generate_page
from chalicelib.pages.model import GenerationJob, JobStatus, cache_key
from chalicelib.pages.repository import PagesRepository
from chalicelib.settings import DEFAULTS
from chalicelib.timeutil import utcnow_naive

log = logging.getLogger(__name__)

CONTEXT_WINDOW = timedelta(days=14)  # a user's context: their activity of the last 14 days
CONTEXT_EVENTS = 500  # the most recent events of the window summarised for the prompt


def validate_page_type(page_type: str) -> str:
    if not PAGE_TYPE.match(page_type or ""):
        raise errors.BadRequest("page_type must be 1-64 lowercase letters, digits, _ or -", field="page_type")
    return page_type


def relevance(job: GenerationJob, context: dict[str, Any]) -> float:
    """The detector's confidence for a predicted page; for a page generated because it was asked
    for (no prediction), the share of the user's recent activity spent on it: 0 with none."""
    if not job.requested:
        return float(job.confidence)
    total = context.get("events_in_window") or 0
    visits = next((p["visits"] for p in context.get("pages") or [] if p["page"] == job.page_type), 0)
    return round(visits / total, 3) if total else 0.0


class PagesService:
    def __init__(self, repository: PagesRepository, llm_factory: Any, *, concurrency: int = 8,
                 lease: timedelta = timedelta(seconds=DEFAULTS.generator_lease_seconds), miss_lease: timedelta | None = None,
                 miss_wait_seconds: float = 20.0, deadline_margin_ms: int = 30_000,
                 page_types: tuple[str, ...] = (), misses_per_minute: int = DEFAULTS.page_misses_per_minute) -> None:
        """``lease``: a generator run's claim on a job; ``miss_lease``: a request's claim on the
        page it generates on a miss (no longer than the API function can run, so a request that
        died, or could not record its outcome, holds the page back no longer than that).
        ``page_types``: the page types a miss may generate (empty: those the detector knows for
        the user); ``misses_per_minute``: each user's limit on misses (0: none)."""
        self.repository = repository
        self.llm_factory = llm_factory  # called only when a page must be generated
        self.concurrency = concurrency
        self.lease = lease
        self.miss_lease = lease if miss_lease is None else min(miss_lease, lease)
        self.miss_wait_seconds = miss_wait_seconds
        self.deadline_margin_ms = deadline_margin_ms
        self.page_types = frozenset(page_types)
        self.misses_per_minute = max(0, misses_per_minute)

    # --- API ----------------------------------------------------------------------------------

    def record(self, user_id: str, body: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        """Store a batch of activity; a retried batch (same ``Idempotency-Key``) stores nothing
        twice and answers ``{"accepted": <the first count>, "replayed": true}``."""
        key = errors.idempotency_key(idempotency_key)
        accepted, replayed = self.repository.record_activity(user_id, validate_activity(body, utcnow_naive()), key)
        return {"accepted": accepted, "replayed": replayed}

    def list_pages(self, user_id: str) -> list[dict[str, Any]]:
        return [page.to_api("cache") for page in self.repository.fresh_pages(user_id)]

    def get_page(self, user_id: str, page_type: str) -> dict[str, Any]:
        """From the cache when fresh; else generated now. Concurrent misses generate once: the
        first claims the page's job, the others wait for the cache it fills, and answer 503 at
        once if that generation fails (taking the job over if its claimant died). A miss for a
        page type nobody knows is a 404; past the user's misses per minute, a 429."""
        validate_page_type(page_type)
        key = cache_key(user_id, page_type)
        hit = self.repository.fresh_page(key)
        if hit:
            return hit.to_api("cache")
        if not self._known(user_id, page_type):
            raise errors.NotFound(f"no page {page_type!r} for this user: only page types seen in their activity "
                                  "(or configured in PAGE_TYPES) are generated", field="page_type")
        if self.misses_per_minute:
            wait = self.repository.take_miss(user_id, self.misses_per_minute)
            if wait:
                raise errors.TooManyRequests(f"more than {self.misses_per_minute} uncached pages a minute; "
                                             f"retry in {wait} s", retry_after=wait)
        deadline = time.monotonic() + self.miss_wait_seconds
        while True:
            token = str(uuid.uuid4())
            job = self.repository.claim_for_page(user_id, page_type, token, self.miss_lease)
            if job is not None:
                self._process(job, token, raise_errors=True)
                return self._generated(key)
            outcome = self._wait_for_holder(key, deadline)
            if outcome is not None:
                return outcome

    def _known(self, user_id: str, page_type: str) -> bool:
        """Configured types when PAGE_TYPES is set; else what the detector knows for this user:
        a page type it queued or cached for them, or one their recent activity names."""
        if self.page_types:
            return page_type in self.page_types
        if self.repository.has_job_or_page(user_id, page_type):
            return True
        names = self.repository.activity_names(user_id, utcnow_naive() - CONTEXT_WINDOW)
        return any(page_type_of(page, intent) == page_type for page, intent in names)

    def _wait_for_holder(self, key: str, deadline: float) -> dict[str, Any] | None:
        """Poll until another claimant's page is cached. None: its lease ran out (the caller
        claims the job); 503 when its generation failed or the wait is over."""
        while time.monotonic() < deadline:
            time.sleep(0.05)
            holder = self.repository.active_job(key)  # read before the page: completion
            hit = self.repository.fresh_page(key)      # clears the job and writes the page at once
            if hit:
                return hit.to_api("generated")
            if holder is None or holder.status != JobStatus.PROCESSING:
                raise errors.Unavailable("generating this page failed; retry shortly", retry_after=5)
            if holder.lease_expires_at is not None and holder.lease_expires_at < utcnow_naive():
                self.repository.fail_abandoned()  # a crashed last attempt: fail it, then start anew
                return None
        raise errors.Unavailable("this page is being generated; retry shortly", retry_after=2)

    def _generated(self, key: str) -> dict[str, Any]:
        page = self.repository.fresh_page(key)
        if page is None:  # our claim was lost (lease expired) and the new claimant is not done
            raise errors.Unavailable("this page is being generated; retry shortly", retry_after=2)
        return page.to_api("generated")

    # --- schedules ----------------------------------------------------------------------------

    def detect(self, detector: Any, window: timedelta = CONTEXT_WINDOW,
               remaining_ms: Callable[[], int] | None = None, margin_ms: int = 60_000) -> dict[str, Any]:
        """Run ``detector`` over each user's recent activity in turn and queue its predictions
        (``enqueue`` skips keys already queued, processing or fresh: overlapping runs are safe).
        One user's failure (a Bedrock error, an unusable answer) is counted in ``errors``, logged,
        and the run goes on with the next user; the run stops, before the Lambda deadline, when
        less than ``margin_ms`` is left (``stopped_early``; the next run starts over).
        ``nothing_queued`` counts the users who got nothing by reason: ``too_little_history``,
        ``below_threshold`` (the detector's ``explain``) or ``already_queued_or_fresh``; a run that
        queued nothing also says why in words (``why_none``)."""
        now = utcnow_naive()
        stats: dict[str, Any] = {"users": 0, "events": 0, "predictions": 0, "queued": 0, "errors": 0,
                                 "stopped_early": False}
        why: dict[str, int] = {}
        for events in self.repository.activity_by_user(now - window):
            if remaining_ms is not None and remaining_ms() < margin_ms:
                stats["stopped_early"] = True
                log.warning("pattern detector: stopping before the deadline after %d user(s)", stats["users"])
                break
            stats["users"] += 1
            stats["events"] += len(events)
            try:
                predictions = detector.detect(events, now)
                queued = sum(self.repository.enqueue(p.user_id, p.page_type, p.confidence, p.pattern)
                             for p in predictions)
                if not predictions:
                    explain = getattr(detector, "explain", None)
                    reason = explain(events, now) if explain else "no_pattern"
                else:
                    reason = None if queued else "already_queued_or_fresh"
            except Exception as exc:  # noqa: BLE001 - one user's failure never stops the others
                stats["errors"] += 1
                log.warning("pattern detector: user %s skipped: %s: %s", events[0].user_id,
                            type(exc).__name__, str(exc)[:200])
                continue
            stats["predictions"] += len(predictions)
            stats["queued"] += queued
            if reason:
                why[reason] = why.get(reason, 0) + 1
        stats["nothing_queued"] = why
        if not stats["queued"]:  # the same facts in words, for a person reading the run's result
            stats["why_none"] = (f"no activity in the last {window.days} days" if not stats["users"] else
                                 "; ".join(f"{n} user(s): {reason.replace('_', ' ')}" for reason, n in sorted(why.items())))
        stats["keys_forgotten"] = self.repository.forget_activity_keys()
        log.info("pattern detector: %s", stats)
        return stats

    def generate(self, remaining_ms: Callable[[], int] | None = None) -> dict[str, Any]:
        """Claim and process queued jobs with up to ``concurrency`` in flight, claiming the next
        job as soon as one finishes, until none are left or the Lambda deadline nears (minus
        ``deadline_margin_ms``). Returns the seed's summary."""
        self.repository.fail_abandoned()
        stats = {"jobs_processed": 0, "pages_generated": 0, "errors": 0}

        def time_left() -> bool:
            return remaining_ms is None or remaining_ms() > self.deadline_margin_ms

        in_flight: set[Future[bool]] = set()
        drained = False
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="page-gen") as pool:
            while True:
                while not drained and len(in_flight) < self.concurrency and time_left():
                    token = str(uuid.uuid4())
                    job = self.repository.claim_next(token, self.lease)
                    if job is None:
                        drained = True
                        break
                    in_flight.add(pool.submit(self._process, job, token))
                if not in_flight:
                    break
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    stats["jobs_processed"] += 1
                    stats["pages_generated" if self._succeeded(future) else "errors"] += 1
        log.info("page generator: %s", stats)
        return {"success": True, **stats}

    @staticmethod
    def _succeeded(future: Future[bool]) -> bool:
        """A job's outcome; a database error while recording it leaves the job leased (it is
        reclaimed after the lease) and counts as an error without stopping the run."""
        try:
            return future.result()
        except Exception as exc:  # noqa: BLE001 - one job's failure never stops the others
            log.warning("page job could not be recorded: %s", type(exc).__name__)
            return False

    def _process(self, job: GenerationJob, token: str, raise_errors: bool = False) -> bool:
        """Generate one claimed job's page; on failure count the attempt (requeue or fail)."""
        try:
            events = self.repository.user_activity(job.user_id, utcnow_naive() - CONTEXT_WINDOW, limit=CONTEXT_EVENTS)
            context = activity_context(events)
            page = generate_page(self.llm_factory(), job.page_type, job.pattern, context)
            page = replace(page, relevance_score=relevance(job, context))
        except Exception as exc:  # noqa: BLE001 - counted against the job, other jobs go on
            status = self.repository.fail(job, token, f"{type(exc).__name__}: {exc}")
            log.warning("page job %s (%s) attempt %s failed -> %s: %s", job.id, job.page_type,
                        job.attempts, status, type(exc).__name__)
            if raise_errors:
                raise
            return False
        if not self.repository.complete(job, token, page):
            log.warning("page job %s: claim lost (lease expired and reclaimed); result dropped", job.id)
            return False
        return True
