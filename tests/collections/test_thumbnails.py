"""make_thumbnail: size and aspect, EXIF orientation, every mode converted, bad input refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from chalicelib.collections.thumbnails import ImageRejected, fit_within, make_thumbnail
from tests.collections import images


def _open(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


@pytest.mark.parametrize(("size", "expected"), [
    ((4000, 3000), (800, 600)), ((3000, 4000), (600, 800)), ((1600, 1200), (800, 600)),
    ((801, 10), (800, 10)), ((640, 480), (640, 480)), ((5000, 1), (800, 1)),
])
def test_fits_within_800_keeping_aspect_never_upscaling(size, expected) -> None:  # noqa: ANN001
    assert fit_within(*size) == expected
    thumb = make_thumbnail(images.jpeg(size), ".jpg")
    assert (thumb.width, thumb.height) == expected == _open(thumb.data).size
    assert thumb.mime_type == "image/jpeg" and (thumb.source_width, thumb.source_height) == size


def test_dct_draft_result_matches_a_full_decode_closely() -> None:
    from benchmarks.bench_thumbnail import psnr
    from chalicelib.collections.thumbnails import render_thumbnail

    data = images.jpeg((4000, 3000), "green")
    ours, _ = render_thumbnail(data, ".jpg")
    reference = _open(data).resize(ours.size, Image.Resampling.LANCZOS)
    assert psnr(ours, reference) >= 35


@pytest.mark.parametrize(("orientation", "expected"), [(1, (800, 400)), (3, (800, 400)), (6, (400, 800)),
                                                       (8, (400, 800)), (5, (400, 800))])
def test_exif_orientation_is_applied(orientation: int, expected: tuple[int, int]) -> None:
    source = Image.new("RGB", (1600, 800), (200, 0, 0))
    source.paste((0, 0, 200), (0, 0, 100, 100))  # a blue marker in the top-left corner
    thumb = _open(make_thumbnail(images.with_orientation(source, orientation), ".jpg").data)
    assert thumb.size == expected
    assert not thumb.getexif().get(0x0112)  # metadata stripped: the pixels are upright
    if orientation == 3:  # rotated 180: the marker is now bottom-right
        assert thumb.getpixel((thumb.width - 5, thumb.height - 5))[2] > 150


@pytest.mark.parametrize(("mode", "fmt", "ext"), [
    ("CMYK", "JPEG", ".jpg"), ("L", "JPEG", ".jpeg"), ("P", "PNG", ".png"), ("LA", "PNG", ".png"),
    ("RGBA", "PNG", ".png"), ("I;16", "PNG", ".png"), ("1", "PNG", ".png"), ("RGB", "PNG", ".PNG"),
])
def test_every_mode_is_converted(mode: str, fmt: str, ext: str) -> None:
    source = images.photo((1000, 500), "green")
    if mode == "I;16":
        source = Image.linear_gradient("L").resize((1000, 500)).point(lambda v: v * 256, "I").convert("I;16")
    elif mode == "RGBA":
        source = source.convert("RGBA")
        source.putalpha(Image.linear_gradient("L").resize((1000, 500)))
    elif mode == "LA":
        source = source.convert("LA")
    else:
        source = source.convert(mode)
    thumb = make_thumbnail(images.encode(source, fmt), ext)
    out = _open(thumb.data)
    assert out.size == (800, 400)
    if mode == "RGBA":  # real transparency is kept
        assert thumb.mime_type == "image/png" and out.mode == "RGBA"
    else:
        assert out.mode in {"L", "RGB"} and thumb.mime_type in {"image/jpeg", "image/png"}
    if mode == "I;16":  # scaled from 16 bits, not clipped to white
        assert out.getpixel((400, 3)) < 30 and out.getpixel((400, 396)) > 220


def test_opaque_alpha_becomes_jpeg_and_real_alpha_stays_png() -> None:
    opaque = make_thumbnail(images.png((900, 900), "red", mode="RGBA"), ".png")
    assert opaque.mime_type == "image/jpeg"
    transparent = Image.new("RGBA", (900, 900), (0, 0, 0, 0))
    assert make_thumbnail(images.encode(transparent, "PNG"), ".png").mime_type == "image/png"


def test_truncated_data_is_rejected() -> None:
    data = images.jpeg((2000, 1500))
    with pytest.raises(ImageRejected, match="corrupt or truncated"):
        make_thumbnail(data[: len(data) // 2], ".jpg")


def test_decompression_bomb_is_rejected_from_the_header() -> None:
    with pytest.raises(ImageRejected, match="too large|pixels"):
        make_thumbnail(images.png_claiming_size(100_000, 100_000), ".png")
    with pytest.raises(ImageRejected, match="limit is 1,000,000 pixels"):
        make_thumbnail(images.jpeg((1200, 900)), ".jpg", max_pixels=1_000_000)


@pytest.mark.parametrize(("data", "ext"), [
    (images.png(), ".jpg"), (images.jpeg(), ".png"),
    (images.encode(images.photo((100, 100)), "GIF"), ".png"),
    (images.encode(images.photo((100, 100)), "WEBP"), ".jpg"),
    (b"not an image at all", ".jpeg"),
])
def test_content_that_does_not_match_the_extension_is_rejected(data: bytes, ext: str) -> None:
    with pytest.raises(ImageRejected):
        make_thumbnail(data, ext)


def test_animated_png_is_rejected() -> None:
    with pytest.raises(ImageRejected, match="animated"):
        make_thumbnail(images.animated_png(), ".png")
