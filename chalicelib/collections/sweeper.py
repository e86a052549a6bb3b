"""The item sweeper: no item stays ``processing`` forever, nor an uploaded one ``awaiting_upload``.

A pipeline step that fails transiently records ``<step>: <reason>`` in ``error`` (shown by the
API as ``will be retried: ...``) and
relies on the event source's retries (Lambda async: 2 more attempts). An outage that outlasts
them, or a lost S3 notification or EventBridge event, would leave the item unfinished with
nothing on its way. The sweeper finds items with no progress (``updated_at``) and no re-send
(``resent_at``) for ``resend_after_seconds`` and re-sends the step they are stuck at:

- no thumbnail yet (and the original was uploaded): the image processor's work, run here;
- thumbnailed, no analysis: ``ImageProcessed`` again (same ``request_id`` as the upload's, so
  the analyzer still makes one analysis per uploaded content);
- analysed, not embedded: ``AnalysisComplete`` again for the current analysis.

Re-sends of one step are counted on the item (``resend_step``, ``resend_count``); once a step
has been re-sent ``resend_max`` times and is still stuck, the item is marked ``failed`` with a
reason naming the step and its last error. Every re-send and give-up is claimed with a
conditional UPDATE that only matches while the item is still quiet and unchanged, so
concurrent or overlapping sweeps re-send an item once, and an item that progresses meanwhile is
left alone. The handlers are idempotent, so a re-send that races a slow delivery cannot make a
step run twice to completion. Unfinished items are scanned in pages of ``page_size``, at most
``max_pages`` per run, stopping early when the run nears its timeout (the rest wait for the
next run).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.collections.events import AnalysisComplete, ImageProcessed, publish
from chalicelib.collections.model import Item, QuietItem
from chalicelib.collections.repository import CollectionsRepository
from chalicelib.ports import BlobStore, BlobStoreUnavailable, EventBus
from chalicelib.settings import DEFAULTS

log = logging.getLogger(__name__)

THUMBNAIL, ANALYSIS, EMBEDDING = "thumbnail", "analysis", "embedding"
STEPS = (THUMBNAIL, ANALYSIS, EMBEDDING)
PAGE_SIZE = 100
MAX_PAGES = 10
#: A run stops starting new items with less than this left before its timeout (a thumbnail
#: re-run may take as long as the image processor's own 60 s timeout).
RESERVE_MILLIS = 60_000
@dataclass
class SweepReport:
    """What one sweep did: re-sends per step, items marked failed, items looked at."""

    resent: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STEPS, 0))
    failed: int = 0
    scanned: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"resent": sum(self.resent.values()), "resent_by_step": dict(self.resent),
                "failed": self.failed, "scanned": self.scanned}


def stuck_step(item: Item, embedded: bool) -> str:
    """The step an unfinished item waits for. A ``processing`` item whose current analysis is
    already embedded is a re-analysis (``POST /items/{id}/analyze``) whose event was lost."""
    if not item.thumbnail_path:
        return THUMBNAIL
    if not item.current_analysis_id or embedded:
        return ANALYSIS
    return EMBEDDING


def last_error(item: Item) -> str:
    error = (item.error or "").strip()  # an unfinished item's error is its retry reason
    return error or "no error was recorded (the event or notification was lost)"


class ItemSweeper:
    def __init__(self, *, repository: CollectionsRepository, blobs: BlobStore, bus: EventBus, bucket: str,
                 process_upload: Callable[[str], Any], resend_after_seconds: int = DEFAULTS.item_resend_after_seconds,
                 resend_max: int = DEFAULTS.item_resend_max,
                 page_size: int = PAGE_SIZE, max_pages: int = MAX_PAGES) -> None:
        """``process_upload(key)`` runs the image processor's work for one original."""
        self.repository, self.blobs, self.bus, self.bucket = repository, blobs, bus, bucket
        self.process_upload = process_upload
        self.after = max(0, resend_after_seconds)
        self.resend_max = max(0, resend_max)
        self.page_size, self.max_pages = max(1, page_size), max(1, max_pages)

    # --- scan ---------------------------------------------------------------------------------

    def sweep(self, remaining_millis: Callable[[], int] | None = None) -> SweepReport:
        """One run; ``remaining_millis`` is the Lambda context's ``get_remaining_time_in_millis``."""
        report = SweepReport()
        last: tuple[datetime, str] | None = None
        for _ in range(self.max_pages):
            page = self.repository.quiet_page(self.after, self.page_size, last)
            for row in page:
                if remaining_millis is not None and remaining_millis() < RESERVE_MILLIS:
                    log.warning("item sweeper: near the timeout after %d item(s); the next run goes on",
                                report.scanned)
                    return report
                report.scanned += 1
                self._handle(row, report)
            if len(page) < self.page_size:
                break
            tail = page[-1].item
            assert tail.updated_at is not None
            last = (tail.updated_at, tail.id)
        if report.failed:
            log.warning("item sweeper: %d item(s) marked failed", report.failed)
        if any(report.resent.values()):
            log.warning("item sweeper: re-sent %s", {k: v for k, v in report.resent.items() if v})
        return report

    # --- one item -----------------------------------------------------------------------------

    def _handle(self, quiet: QuietItem, report: SweepReport) -> None:
        item = quiet.item
        step = stuck_step(item, quiet.embedded)
        done = item.resend_count if item.resend_step == step else 0
        if step == THUMBNAIL:
            try:
                if not self.blobs.exists(self.bucket, item.file_path):
                    return  # never uploaded (or deleted): nothing is stuck
            except BlobStoreUnavailable as exc:
                log.warning("item %s: cannot check its original, next sweep: %s", item.id, exc)
                return
        if done >= self.resend_max:
            reason = (f"{step} did not complete after {done} re-send(s) {self.after} s apart; "
                      f"last error: {last_error(item)}")
            if self.repository.claim_failure(item, self.after, reason):
                log.warning("item %s (user %s): marked failed: %s", item.id, item.user_id, reason)
                report.failed += 1
            return
        if not self.repository.claim_resend(item, self.after, step, done + 1):
            return  # another sweep claimed it, or it progressed meanwhile
        log.warning("item %s (user %s): %s quiet for %d s, re-sending (%d of %d)",
                    item.id, item.user_id, step, self.after, done + 1, self.resend_max)
        report.resent[step] += 1
        try:
            self._resend(step, item)
        except Exception as exc:  # noqa: BLE001 - counted as a re-send; the next sweep tries again
            log.warning("item %s: re-sending %s failed: %s: %s", item.id, step, type(exc).__name__, exc)

    def _resend(self, step: str, item: Item) -> None:
        if step == THUMBNAIL:
            self.process_upload(item.file_path)
        elif step == ANALYSIS:
            if item.current_analysis_id:  # a lost re-analysis: a new version, once per quiet period
                request_id = f"reanalyze:{item.id}:resend-{item.updated_at.timestamp():.6f}"
            else:  # the upload's own request id: at most one analysis per uploaded content
                request_id = f"upload:{item.id}:{item.content_sha256}"
            publish(self.bus, ImageProcessed(
                item_id=item.id, user_id=item.user_id, bucket=self.bucket, original_key=item.file_path,
                thumbnail_key=item.thumbnail_path, request_id=request_id))
        else:
            publish(self.bus, AnalysisComplete(item_id=item.id, analysis_id=item.current_analysis_id,
                                               user_id=item.user_id))
