"""Test images, all generated with Pillow."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageDraw

COLORS = {"red": (220, 30, 30), "green": (30, 200, 60), "blue": (30, 60, 220)}


def photo(size: tuple[int, int] = (1200, 900), color: str = "red", mode: str = "RGB") -> Image.Image:
    """A non-flat picture dominated by one colour (the fake LLM reads the colour back)."""
    im = Image.new("RGB", size, COLORS[color])
    draw = ImageDraw.Draw(im)
    w, h = size
    for i in range(0, w, max(1, w // 12)):
        draw.line((i, 0, w - i, h), fill=(255, 255, 255), width=2)
    return im if mode == "RGB" else im.convert(mode)


def encode(im: Image.Image, fmt: str = "JPEG", **params) -> bytes:  # noqa: ANN003
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    return buffer.getvalue()


def jpeg(size: tuple[int, int] = (1200, 900), color: str = "red", **params) -> bytes:  # noqa: ANN003
    return encode(photo(size, color), "JPEG", quality=90, **params)


def png(size: tuple[int, int] = (1200, 900), color: str = "red", mode: str = "RGB") -> bytes:
    return encode(photo(size, color, mode), "PNG")


def with_orientation(data_im: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(data_im, "JPEG", exif=exif.tobytes())


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (a decompression bomb's header)."""
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    # IHDR data starts at byte 16: width, height (big endian), then the chunk's CRC at 29.
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def animated_png() -> bytes:
    frames = [photo((200, 150), color) for color in ("red", "green", "blue")]
    return encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100, loop=0)
