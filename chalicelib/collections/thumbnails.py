"""Fast, safe thumbnails with Pillow.

The speed comes from decoding less: for JPEG, ``Image.draft`` asks libjpeg to decode at 1/2,
1/4 or 1/8 scale (in the DCT domain) to the smallest size still at least the target, computed
with the image's real aspect ratio; one LANCZOS resize finishes the job. Pillow's own
``thumbnail()`` asks draft for a square box twice the target, which for a 4:3 photo means a
full-size decode. EXIF orientation is applied to the small image (lossless transposes).

Safety: the pixel count is checked from the header before anything is decoded (decompression
bombs), the real format must match the extension, animations are refused, truncated data is
an error. Any mode (CMYK, P, LA, RGBA, I;16, ...) is converted to L, RGB or RGBA.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from chalicelib.settings import DEFAULTS

MAX_SIZE = 800
DEFAULT_MAX_PIXELS = DEFAULTS.image_max_pixels
JPEG_QUALITY = 85

_FORMATS_BY_EXTENSION = {".jpg": {"JPEG", "MPO"}, ".jpeg": {"JPEG", "MPO"}, ".png": {"PNG"}}
# Formats Pillow registers without importing every plugin; others are "not a JPEG or PNG".
_RECOGNISED = ("JPEG", "PNG", "GIF", "BMP", "PPM")
_ORIENTATION = 0x0112
_TRANSPOSES = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageRejected(ValueError):
    """The bytes are not an image we accept; the message is the reason shown to the user."""


@dataclass(frozen=True)
class Thumbnail:
    data: bytes
    mime_type: str
    width: int
    height: int
    source_width: int
    source_height: int


def fit_within(width: int, height: int, max_size: int = MAX_SIZE) -> tuple[int, int]:
    """The largest size with the same aspect ratio inside ``max_size`` x ``max_size``
    (never upscaled)."""
    scale = min(1.0, max_size / width, max_size / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def make_thumbnail(
    data: bytes, extension: str, max_size: int = MAX_SIZE, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Thumbnail:
    """Thumbnail ``data`` (the bytes of a ``.jpg``/``.jpeg``/``.png`` file) to at most
    ``max_size`` px a side, as JPEG, or PNG when the image has real transparency.

    Raises :class:`ImageRejected` for anything unusable (the item fails with its message).
    """
    small, (width, height) = render_thumbnail(data, extension, max_size, max_pixels)
    return _encode(small, width, height)


def render_thumbnail(
    data: bytes, extension: str, max_size: int = MAX_SIZE, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[Image.Image, tuple[int, int]]:
    """The thumbnail's pixels (L, RGB or RGBA) and the source size, before encoding."""
    allowed = _FORMATS_BY_EXTENSION.get(extension.lower())
    if allowed is None:
        raise ImageRejected(f"unsupported extension {extension!r}")
    try:
        with Image.open(io.BytesIO(data), formats=_RECOGNISED) as im:
            return _thumbnail(im, extension, allowed, max_size, max_pixels)
    except ImageRejected:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"image is too large to decode safely: {exc}") from None
    except UnidentifiedImageError:
        raise ImageRejected("file is not a readable JPEG or PNG image") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(f"image data is corrupt or truncated: {exc}") from None


def _thumbnail(im: Image.Image, extension: str, allowed: set[str], max_size: int,
               max_pixels: int) -> tuple[Image.Image, tuple[int, int]]:
    if im.format not in allowed:
        raise ImageRejected(f"file content is {im.format or 'unknown'}, not what {extension} promises")
    width, height = im.size
    if width * height > max_pixels:
        raise ImageRejected(f"image has {width}x{height} pixels; the limit is {max_pixels:,} pixels")
    if im.format == "PNG" and getattr(im, "is_animated", False):
        raise ImageRejected("animated images are not supported")
    orientation = im.getexif().get(_ORIENTATION, 1)
    target = fit_within(width, height, max_size)
    if im.format in {"JPEG", "MPO"}:
        # DCT-domain downscale to the smallest 1/2^n size that is still >= the target.
        im.draft(im.mode, target)
    im.load()  # raises on truncated data
    small = _normalize_mode(im)
    if small.size != target:
        small = small.resize(target, Image.Resampling.LANCZOS)
    transpose = _TRANSPOSES.get(orientation)
    if transpose is not None:
        small = small.transpose(transpose)
    return small, (width, height)


def _normalize_mode(im: Image.Image) -> Image.Image:
    """L, RGB or RGBA, whatever the source mode (16-bit scaled down, palettes expanded)."""
    mode = im.mode
    if mode in {"L", "RGB", "RGBA"}:
        return im
    if mode.startswith("I") or mode == "F":
        return _high_depth_to_l(im)
    if mode == "1":
        return im.convert("L")
    if mode in {"LA", "La", "PA", "RGBa"} or "transparency" in im.info:
        return im.convert("RGBA")
    return im.convert("RGB")  # P, CMYK, YCbCr, LAB, HSV, RGBX


def _high_depth_to_l(im: Image.Image) -> Image.Image:
    """16-bit (I;16*, I) and float grayscale to 8-bit L, scaling instead of clipping."""
    if im.mode == "F":
        high = im.getextrema()[1] or 1.0
        scale = 255.0 / high if high > 1.0 else 255.0
        return im.point(lambda value: value * scale).convert("L")
    as_int = im if im.mode == "I" else im.convert("I")
    high = as_int.getextrema()[1]
    scale = 1 / 256 if (im.mode != "I" or high > 255) else 1.0
    return as_int.point(lambda value: value * scale).convert("L")


def _has_transparency(im: Image.Image) -> bool:
    return im.mode == "RGBA" and im.getchannel("A").getextrema()[0] < 255


def _encode(im: Image.Image, source_width: int, source_height: int) -> Thumbnail:
    buffer = io.BytesIO()
    if _has_transparency(im):
        im.save(buffer, format="PNG", compress_level=6)
        mime_type = "image/png"
    else:
        if im.mode == "RGBA":
            im = im.convert("RGB")
        im.save(buffer, format="JPEG", quality=JPEG_QUALITY)
        mime_type = "image/jpeg"
    return Thumbnail(buffer.getvalue(), mime_type, im.width, im.height, source_width, source_height)
