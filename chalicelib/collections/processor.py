"""S3 ObjectCreated -> thumbnail -> item row -> ``ImageProcessed`` (the pipeline's first step).

Idempotent: the item is found by its key (or created with an id derived from it), the
thumbnail key is fixed, and the event carries ``request_id = upload:{item}:{sha256}`` so the
analyzer makes one analysis per uploaded content however often this runs. Bad images mark the
item failed and return normally (no retry loop, no event).
"""

from __future__ import annotations

import hashlib
import logging

from chalicelib.collections.events import ImageProcessed, Outcome, publish
from chalicelib.collections.keys import parse_image_key
from chalicelib.collections.model import ItemStatus
from chalicelib.collections.repository import CollectionsRepository
from chalicelib.collections.thumbnail_store import write_thumbnail
from chalicelib.collections.thumbnails import DEFAULT_MAX_PIXELS, ImageRejected, make_thumbnail
from chalicelib.ports import BlobNotFound, BlobStore, BlobStoreUnavailable, EventBus
from chalicelib.settings import DEFAULTS

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = DEFAULTS.image_max_bytes


def process_upload(
    *,
    repository: CollectionsRepository,
    blobs: BlobStore,
    bus: EventBus,
    bucket: str,
    key: str,
    size: int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    started_at: str | None = None,
) -> Outcome:
    """Handle one created object ``key`` (already URL-decoded) in ``bucket``; ``started_at`` (the
    upload's time, ISO 8601) travels with the events so each stage can report time since upload."""
    parsed = parse_image_key(key)
    if parsed is None:
        return Outcome("skipped", reason="not an original image key")
    item = repository.ensure_for_upload(item_id=parsed.derived_item_id, user_id=parsed.user_id,
                                        filename=parsed.filename, file_path=key, mime_type=parsed.mime_type)
    item_id = item.id
    if size is not None and size > max_bytes:
        return _fail(repository, item_id, f"image is {size:,} bytes; the limit is {max_bytes:,} bytes")
    try:
        data = blobs.get(bucket, key)
    except BlobNotFound:
        return Outcome("skipped", item_id, reason="object no longer exists")
    except BlobStoreUnavailable as exc:
        repository.note_retry(item_id, f"thumbnail: {exc}")
        raise  # the S3 notification's invocation is retried
    if len(data) > max_bytes:
        return _fail(repository, item_id, f"image is {len(data):,} bytes; the limit is {max_bytes:,} bytes")
    if item.status == ItemStatus.AWAITING_UPLOAD:
        repository.mark_bytes_arrived(item_id)
    digest = hashlib.sha256(data).hexdigest()
    already_done = item.status == ItemStatus.READY and item.content_sha256 == digest
    try:
        thumbnail = make_thumbnail(data, parsed.extension, max_pixels=max_pixels)
    except ImageRejected as exc:
        return _fail(repository, item_id, str(exc))
    try:
        write_thumbnail(blobs, bucket, parsed.thumbnail_key, thumbnail.data, thumbnail.mime_type)
    except BlobStoreUnavailable as exc:
        repository.note_retry(item_id, f"thumbnail: {exc}")
        raise
    repository.set_status(item_id, ItemStatus.READY if already_done else ItemStatus.PROCESSING,
                          thumbnail_path=parsed.thumbnail_key, thumbnail_mime_type=thumbnail.mime_type,
                          content_sha256=digest)
    publish(bus, ImageProcessed(item_id=item_id, user_id=item.user_id, bucket=bucket, original_key=key,
                                thumbnail_key=parsed.thumbnail_key, request_id=f"upload:{item_id}:{digest}",
                                started_at=started_at))
    return Outcome("duplicate" if already_done else "done", item_id)


def _fail(repository: CollectionsRepository, item_id: str, reason: str) -> Outcome:
    log.warning("item %s rejected: %s", item_id, reason)
    repository.set_status(item_id, ItemStatus.FAILED, error=reason)
    return Outcome("failed", item_id, reason=reason)
