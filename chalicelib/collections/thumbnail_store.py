"""Thumbnails as objects: written tagged ``kind=thumbnail`` (the bucket's lifecycle rule expires
them after 90 days in test and prod), and rebuilt from the original when they are gone.

The original is the source of truth; a thumbnail is a cache of it. When the lifecycle rule (or an
operator) removes a thumbnail, ``GET /items/{id}`` rebuilds it before handing out a URL (the
analyzer reads the original itself: :mod:`chalicelib.collections.vision_input`), so nothing fails
because a thumbnail expired.
"""

from __future__ import annotations

import logging
from typing import Any

from chalicelib.collections.keys import extension_of
from chalicelib.collections.model import Item
from chalicelib.ports import BlobNotFound, BlobStore

log = logging.getLogger(__name__)

THUMBNAIL_TAGS = {"kind": "thumbnail"}


def write_thumbnail(blobs: BlobStore, bucket: str, key: str, data: bytes, mime_type: str) -> None:
    """Store a thumbnail with the tag the lifecycle rule filters on."""
    blobs.put(bucket, key, data, mime_type, tags=THUMBNAIL_TAGS)


def render_from_original(blobs: BlobStore, bucket: str, item: Item) -> Any | None:
    """A fresh :class:`~chalicelib.collections.thumbnails.Thumbnail` of the item's original, or
    None when the original is gone or no longer a valid image."""
    from chalicelib.collections.thumbnails import ImageRejected, make_thumbnail

    try:
        original = blobs.get(bucket, item.file_path)
    except BlobNotFound:
        return None
    try:
        return make_thumbnail(original, extension_of(item.file_path))
    except ImageRejected as exc:
        log.warning("item %s: cannot rebuild its thumbnail: %s", item.id, exc)
        return None


def ensure_thumbnail(blobs: BlobStore, bucket: str, item: Item) -> str:
    """Make sure the item's thumbnail object exists: ``present``, ``rebuilt`` (it had expired and
    was made again from the original), ``missing`` (the original is gone too) or ``none`` (the
    upload has not been processed yet)."""
    key = item.thumbnail_path
    if not key:
        return "none"
    if blobs.exists(bucket, key):
        return "present"
    thumbnail = render_from_original(blobs, bucket, item)
    if thumbnail is None:
        return "missing"
    write_thumbnail(blobs, bucket, key, thumbnail.data, thumbnail.mime_type)
    log.info("item %s: thumbnail %s had expired; rebuilt from the original", item.id, key)
    return "rebuilt"
