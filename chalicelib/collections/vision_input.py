"""The image the analyzer shows Claude: the original, not the 800 px thumbnail, so the small
text of a screenshot stays legible.

Rules (Anthropic's vision guidance and limits):
- at most ``MAX_EDGE`` (1568) px on the long edge, aspect kept, never upscaled: larger images are
  resized server-side anyway, at the cost of latency and tokens;
- EXIF orientation applied (Claude sees the picture the right way up);
- encoded within ``MAX_ENCODED_BYTES``: the API refuses an image over 5 MB, and it measures the
  base64 string, so the bytes are kept to 3/4 of 5 MiB. A PNG stays PNG (lossless text) when it
  fits; otherwise JPEG, stepping the quality down, then the size, until it fits.

The thumbnail stays for display only; it is used here just when the original is gone.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from PIL import Image

from chalicelib.collections.keys import extension_of
from chalicelib.collections.model import Item
from chalicelib.collections.thumbnails import DEFAULT_MAX_PIXELS, ImageRejected, render_thumbnail
from chalicelib.ports import BlobNotFound, BlobStore

log = logging.getLogger(__name__)

MAX_EDGE = 1568
#: 5 MiB of base64 is 3.75 MiB of bytes.
MAX_ENCODED_BYTES = 5 * 1024 * 1024 * 3 // 4
JPEG_QUALITIES = (90, 80, 70, 60, 50, 40)
#: Each further step shrinks the long edge by this factor (quality starts again at the top).
SHRINK = 0.8
MIN_EDGE = 256


@dataclass(frozen=True)
class VisionImage:
    data: bytes
    media_type: str
    width: int
    height: int
    source: str  # "original" or "thumbnail"


def prepare(data: bytes, extension: str, *, max_edge: int = MAX_EDGE, max_bytes: int = MAX_ENCODED_BYTES,
            max_pixels: int = DEFAULT_MAX_PIXELS) -> VisionImage:
    """``data`` (a .jpg/.jpeg/.png file) as Claude should see it; :class:`ImageRejected` when
    the bytes are not an image we accept."""
    pixels, _ = render_thumbnail(data, extension, max_edge, max_pixels)
    return encode_within(pixels, keep_png=extension.lower() == ".png", max_bytes=max_bytes)


def encode_within(im: Image.Image, *, keep_png: bool, max_bytes: int = MAX_ENCODED_BYTES) -> VisionImage:
    """The smallest change that fits ``max_bytes``: PNG as is, else JPEG by falling quality, then
    smaller sizes. Transparent areas become white in a JPEG (as a viewer shows them)."""
    if keep_png:
        encoded = _png(im)
        if len(encoded) <= max_bytes:
            return VisionImage(encoded, "image/png", im.width, im.height, "original")
    flat = _flatten(im)
    while True:
        for quality in JPEG_QUALITIES:
            encoded = _jpeg(flat, quality)
            if len(encoded) <= max_bytes:
                return VisionImage(encoded, "image/jpeg", flat.width, flat.height, "original")
        if max(flat.size) <= MIN_EDGE:
            raise ImageRejected(f"image cannot be encoded within {max_bytes} bytes")
        size = (max(1, round(flat.width * SHRINK)), max(1, round(flat.height * SHRINK)))
        flat = flat.resize(size, Image.Resampling.LANCZOS)


def _png(im: Image.Image) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def _jpeg(im: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _flatten(im: Image.Image) -> Image.Image:
    """L or RGB, alpha composited onto white."""
    if im.mode == "RGBA":
        background = Image.new("RGB", im.size, (255, 255, 255))
        background.paste(im, mask=im.getchannel("A"))
        return background
    return im if im.mode in {"L", "RGB"} else im.convert("RGB")


def image_for_analysis(blobs: BlobStore, bucket: str, item: Item,
                       max_pixels: int = DEFAULT_MAX_PIXELS) -> VisionImage | None:
    """The item's original, prepared by :func:`prepare`; the stored thumbnail when the original
    is gone or unreadable; None when neither exists."""
    try:
        original = blobs.get(bucket, item.file_path)
    except BlobNotFound:
        original = None
    if original is not None:
        try:
            return prepare(original, extension_of(item.file_path), max_pixels=max_pixels)
        except ImageRejected as exc:
            log.warning("item %s: the original cannot be shown to the analyzer (%s); using the thumbnail",
                        item.id, exc)
    key = item.thumbnail_path
    if not key:
        return None
    try:
        data = blobs.get(bucket, key)
    except BlobNotFound:
        return None
    media_type = item.thumbnail_mime_type or "image/jpeg"
    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
    except (OSError, ValueError):
        return None
    return VisionImage(data, media_type, width, height, "thumbnail")
