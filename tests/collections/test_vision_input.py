"""The analyzer shows Claude the original, downscaled to at most 1568 px and within the API's
image size limit, not the 800 px thumbnail: checked on what the fake Anthropic server receives."""

from __future__ import annotations

import base64
import io
import os

import pytest
from PIL import Image, ImageDraw, ImageStat

from chalicelib import wiring
from chalicelib.collections.analysis_schema import ANALYSIS_SCHEMA
from chalicelib.collections.thumbnails import ImageRejected
from chalicelib.collections.vision_input import MAX_EDGE, MAX_ENCODED_BYTES, encode_within, prepare
from tests.collections import images
from tests.collections.conftest import BUCKET, get_item, upload
from tests.fakes import anthropic_server as fake
from tests.fakes.schema_filler import SchemaFiller

ANALYSIS = {**SchemaFiller(["screenshot", "text"]).fill(ANALYSIS_SCHEMA), "category": "screenshot"}
#: The API's limit is on the base64 string of each image.
API_LIMIT = 5 * 1024 * 1024


def _sent_images(claude) -> list[tuple[Image.Image, str, int]]:  # noqa: ANN001
    """(decoded image, media type, base64 length) of every image the fake server received."""
    found = []
    for request in claude.requests:
        for block in request.body["messages"][0]["content"]:
            if block["type"] == "image":
                source = block["source"]
                raw = base64.b64decode(source["data"])
                im = Image.open(io.BytesIO(raw))
                im.load()
                found.append((im, source["media_type"], len(source["data"])))
    return found


def _answer_all(claude) -> None:  # noqa: ANN001
    claude.handler = lambda path, headers, body: (200, fake.tool_use(ANALYSIS, name=body["tools"][0]["name"]))


def _mean(im: Image.Image) -> tuple[float, ...]:
    return tuple(ImageStat.Stat(im.convert("RGB")).mean)


def _noise(size: tuple[int, int]) -> Image.Image:
    return Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))


def test_a_large_original_arrives_at_1568_px_not_as_the_thumbnail(client, user, real_sdks) -> None:  # noqa: ANN001
    claude, _ = real_sdks
    _answer_all(claude)
    original = images.photo((4000, 3000), "blue")
    item_id = upload(client, user, images.encode(original, "JPEG", quality=92))
    wiring.local_runtime().drain()
    assert get_item(client, user, item_id).json_body["status"] == "ready"

    [(sent, media_type, b64_length)] = _sent_images(claude)
    assert sent.size == (1568, 1176) and media_type == "image/jpeg" and sent.format == "JPEG"
    assert b64_length <= API_LIMIT
    # The original's content (the same picture, scaled), not some other rendering.
    expected = _mean(original.resize((1568, 1176), Image.Resampling.LANCZOS))
    assert all(abs(a - b) < 4 for a, b in zip(_mean(sent), expected, strict=True)), (_mean(sent), expected)
    thumbnail = Image.open(io.BytesIO(wiring.blob_store().get(BUCKET, f"{user}/thumbnails/{item_id}.jpg")))
    assert thumbnail.size == (800, 600)  # the thumbnail stays, for display


def test_exif_orientation_is_applied_before_claude_sees_it(client, user, real_sdks) -> None:  # noqa: ANN001
    claude, _ = real_sdks
    _answer_all(claude)
    landscape = images.photo((3000, 2000), "red")
    item_id = upload(client, user, images.with_orientation(landscape, 6))  # camera held upright
    wiring.local_runtime().drain()
    assert get_item(client, user, item_id).json_body["status"] == "ready"
    [(sent, _, _)] = _sent_images(claude)
    assert sent.size == (1045, 1568)


def test_a_png_screenshot_stays_png_and_its_small_text_legible_size(client, user, real_sdks) -> None:  # noqa: ANN001
    claude, _ = real_sdks
    _answer_all(claude)
    screen = Image.new("RGB", (1170, 2532), "white")
    draw = ImageDraw.Draw(screen)
    for row in range(0, 2532, 40):
        draw.text((20, row), f"Ramen Ichiran Fukuoka {row} - open 24h - 1,280 yen", fill="black")
    item_id = upload(client, user, images.encode(screen, "PNG"), filename="shot.png", content_type="image/png")
    wiring.local_runtime().drain()
    assert get_item(client, user, item_id).json_body["status"] == "ready"
    [(sent, media_type, _)] = _sent_images(claude)
    assert media_type == "image/png" and sent.format == "PNG"
    assert sent.size == (725, 1568)  # more than twice the thumbnail's 370 x 800


def test_a_noisy_large_png_is_sent_as_jpeg_within_the_limit(client, user, real_sdks) -> None:  # noqa: ANN001
    claude, _ = real_sdks
    _answer_all(claude)
    item_id = upload(client, user, images.encode(_noise((2600, 2000)), "PNG", compress_level=1),
                     filename="noise.png", content_type="image/png")
    wiring.local_runtime().drain()
    assert get_item(client, user, item_id).json_body["status"] == "ready"
    [(sent, media_type, b64_length)] = _sent_images(claude)
    assert media_type == "image/jpeg" and max(sent.size) <= MAX_EDGE
    assert b64_length <= API_LIMIT


def test_the_thumbnail_is_used_only_when_the_original_is_gone(client, user, real_sdks) -> None:  # noqa: ANN001
    claude, _ = real_sdks
    _answer_all(claude)
    item_id = upload(client, user, images.jpeg((2000, 1500), "green"))
    wiring.local_runtime().drain()
    wiring.blob_store().delete(BUCKET, f"{user}/{item_id}.jpg")
    from tests.conftest import auth_headers

    again = client.http.post(f"/items/{item_id}/analyze", headers=auth_headers(user), body="{}")
    assert again.status_code == 202
    wiring.local_runtime().drain()
    assert get_item(client, user, item_id).json_body["latest_analysis"]["version"] == 2
    assert [im.size for im, _, _ in _sent_images(claude)] == [(1568, 1176), (800, 600)]


# --- the encoder on its own -------------------------------------------------------------------


def test_small_images_are_never_upscaled() -> None:
    prepared = prepare(images.jpeg((640, 480), "red"), ".jpg")
    assert (prepared.width, prepared.height) == (640, 480) and prepared.media_type == "image/jpeg"


def test_quality_then_size_step_down_until_it_fits() -> None:
    noisy = _noise((1568, 1176))
    tight = encode_within(noisy, keep_png=True, max_bytes=300_000)
    assert tight.media_type == "image/jpeg" and len(tight.data) <= 300_000
    assert max(tight.width, tight.height) < 1568  # quality alone could not get there
    loose = encode_within(noisy, keep_png=False, max_bytes=MAX_ENCODED_BYTES)
    assert (loose.width, loose.height) == (1568, 1176) and len(loose.data) <= MAX_ENCODED_BYTES


def test_transparency_is_flattened_onto_white_for_jpeg() -> None:
    im = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    ImageDraw.Draw(im).rectangle((0, 0, 199, 299), fill=(200, 0, 0, 255))
    out = encode_within(im, keep_png=False)
    decoded = Image.open(io.BytesIO(out.data)).convert("RGB")
    assert decoded.getpixel((350, 150))[0] > 240 and decoded.getpixel((50, 150))[1] < 30


def test_not_an_image_is_rejected() -> None:
    with pytest.raises(ImageRejected):
        prepare(b"not an image", ".png")


def test_an_unreadable_original_falls_back_to_the_thumbnail(tmp_path) -> None:  # noqa: ANN001
    from chalicelib.collections.model import Item, ItemStatus
    from chalicelib.collections.vision_input import image_for_analysis
    from localdev.blobs import LocalBlobStore

    blobs = LocalBlobStore(tmp_path, secret="s" * 32)
    blobs.put("bucket", "u/i.png", b"\x89PNG broken", "image/png")
    blobs.put("bucket", "u/thumbnails/i.png", images.jpeg((800, 600), "green"), "image/jpeg")
    item = Item(id="i", user_id="u", filename="i.png", file_path="u/i.png", mime_type="image/png",
                status=ItemStatus.READY, thumbnail_path="u/thumbnails/i.png", thumbnail_mime_type="image/jpeg")
    found = image_for_analysis(blobs, "bucket", item)
    assert found is not None and (found.source, found.width, found.height) == ("thumbnail", 800, 600)
    blobs.delete("bucket", "u/thumbnails/i.png")
    assert image_for_analysis(blobs, "bucket", item) is None
