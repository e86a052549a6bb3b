"""At-least-once delivery: duplicate and concurrent deliveries of each handler give one
thumbnail, one analysis version per event and one embedding per analysis; bad images and
unusable model output fail the item without retries or events; outages raise to retry."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib import wiring
from localdev.lambda_events import s3_object_created_event
from tests.collections import images
from tests.collections.conftest import BUCKET, counts, deliveries, get_item, handler, upload

PROCESSOR, ANALYZER, EMBEDDER = "collections_image_processor", "collections_analyzer", "collections_embedder"


def _s3_event(key: str) -> dict:
    data = wiring.blob_store().get(BUCKET, key)
    return s3_object_created_event(BUCKET, key, len(data), "etag")


def test_duplicate_deliveries_change_nothing(client, runtime, fakes, user) -> None:  # noqa: ANN001
    llm, embedder = fakes
    item_id = upload(client, user, images.jpeg((1600, 1200), "green"))
    runtime.drain()
    assert get_item(client, user, item_id).json_body["status"] == "ready"
    assert counts(item_id) == {"analyses": 1, "embeddings": 1}

    key = f"{user}/{item_id}.jpg"
    for _ in range(2):  # S3 redelivers the notification, and so on down the pipeline
        handler(PROCESSOR)(_s3_event(key), None)
    for delivery in deliveries(runtime, ANALYZER)[:1]:  # the first ImageProcessed, again
        handler(ANALYZER)(delivery.payload, None)
    for delivery in deliveries(runtime, EMBEDDER)[:1]:
        handler(EMBEDDER)(delivery.payload, None)
    runtime.drain()

    assert counts(item_id) == {"analyses": 1, "embeddings": 1}
    assert len(llm.calls) == 1 and len(embedder.calls) == 1
    item = get_item(client, user, item_id).json_body
    assert item["status"] == "ready" and item["latest_analysis"]["version"] == 1


def test_concurrent_deliveries_write_once(client, runtime, fakes, user) -> None:  # noqa: ANN001
    llm, embedder = fakes
    key = f"{user}/camera roll/IMG 0001.JPG"  # uploaded straight to the bucket, not via the API
    wiring.blob_store().put(BUCKET, key, images.jpeg((2000, 1500), "red"), "image/jpeg")
    event = _s3_event(key)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: handler(PROCESSOR)(event, None), range(2)))

    processed = [d.payload for d in deliveries(runtime, ANALYZER)]
    assert len(processed) == 2  # both deliveries published; both carry the same request id
    assert processed[0]["detail"]["request_id"] == processed[1]["detail"]["request_id"]
    item_id = processed[0]["detail"]["item_id"]
    assert processed[1]["detail"]["item_id"] == item_id

    both_in_llm = threading.Barrier(2, timeout=10)
    original = llm.complete_json

    def slow_complete_json(**kwargs):  # noqa: ANN003, ANN202
        both_in_llm.wait()  # both deliveries are past their "already done?" check
        return original(**kwargs)

    llm.complete_json = slow_complete_json
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda payload: handler(ANALYZER)(payload, None), processed))
    assert counts(item_id)["analyses"] == 1

    completed = [d.payload for d in deliveries(runtime, EMBEDDER)]
    # The same analysis in both; each delivery carries its own invocation's trace id.
    untraced = [{k: v for k, v in c["detail"].items() if k != "trace_id"} for c in completed]
    assert len(completed) == 2 and untraced[0] == untraced[1]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda payload: handler(EMBEDDER)(payload, None), completed))
    assert counts(item_id) == {"analyses": 1, "embeddings": 1}
    item = get_item(client, user, item_id).json_body
    assert item["status"] == "ready" and item["filename"] == "IMG 0001.JPG"
    assert wiring.blob_store().exists(BUCKET, f"{user}/thumbnails/camera roll/IMG 0001.JPG")


BAD_IMAGES = {
    "truncated": (lambda: images.jpeg((1600, 1200))[:5000], "photo.jpg", "truncated"),
    "bomb": (lambda: images.png_claiming_size(60_000, 60_000), "bomb.png", "pixels"),
    "png behind .jpg": (images.png, "fake.jpg", "not what .jpg promises"),
    "animated": (images.animated_png, "anim.png", "animated"),
}


@pytest.mark.parametrize("case", BAD_IMAGES)
def test_bad_image_fails_the_item_without_retry_or_event(client, runtime, fakes, user, case) -> None:  # noqa: ANN001
    make, filename, reason = BAD_IMAGES[case]
    content_type = "image/png" if filename.endswith(".png") else "image/jpeg"
    item_id = upload(client, user, make(), filename, content_type)
    runtime.drain()
    item = get_item(client, user, item_id).json_body
    assert item["status"] == "failed" and reason in item["error"], item
    assert item["thumbnail_url"] is None
    [delivery] = deliveries(runtime, PROCESSOR)
    assert delivery.status == "succeeded" and delivery.attempts == 1  # returned normally: no retries
    assert deliveries(runtime, ANALYZER) == []
    assert fakes[0].calls == []


@pytest.mark.parametrize(("mode", "filename"), [("CMYK", "print.jpg"), ("P", "palette.png"), ("LA", "grey.png"),
                                                ("RGBA", "alpha.PNG"), ("I;16", "deep.png")])
def test_unusual_modes_are_converted_and_succeed(client, runtime, fakes, user, mode, filename) -> None:  # noqa: ANN001
    from PIL import Image

    source = images.photo((1200, 900), "blue")
    if mode == "I;16":
        source = Image.linear_gradient("L").resize((1200, 900)).point(lambda v: v * 256, "I").convert("I;16")
    else:
        source = source.convert(mode)
    fmt = "JPEG" if filename.endswith(".jpg") else "PNG"
    item_id = upload(client, user, images.encode(source, fmt), filename,
                     "image/jpeg" if fmt == "JPEG" else "image/png")
    runtime.drain()
    item = get_item(client, user, item_id).json_body
    assert item["status"] == "ready", item


def test_unusable_model_output_fails_the_item_and_publishes_nothing(client, runtime, fakes, user) -> None:  # noqa: ANN001
    from chalicelib.providers import ProviderOutputError

    llm, _ = fakes
    llm.fail_with = ProviderOutputError("stop_reason=max_tokens: the output was cut off")
    item_id = upload(client, user, images.jpeg())
    runtime.drain()
    item = get_item(client, user, item_id).json_body
    assert item["status"] == "failed" and "max_tokens" in item["error"]
    assert counts(item_id) == {"analyses": 0, "embeddings": 0}
    assert [d.status for d in deliveries(runtime, ANALYZER)] == ["succeeded"]
    assert deliveries(runtime, EMBEDDER) == []


def test_provider_outage_raises_so_the_event_is_retried(client, runtime, fakes, user) -> None:  # noqa: ANN001
    from chalicelib.providers import ProviderUnavailable

    llm, _ = fakes
    llm.fail_with = ProviderUnavailable("anthropic: 529 overloaded")
    item_id = upload(client, user, images.jpeg())
    runtime.drain(timeout=0.5)
    [delivery] = deliveries(runtime, ANALYZER)
    assert delivery.attempts >= 1 and delivery.status != "succeeded"
    assert "ProviderUnavailable" in (delivery.last_error or "")
    assert get_item(client, user, item_id).json_body["status"] == "processing"

    llm.fail_with = None  # the provider is back: the retry completes the pipeline
    if delivery.status == "failed":  # attempts exhausted: requeue it as `make retry` would
        runtime.queue.retry(delivery.id)
    runtime.drain(timeout=30)
    assert get_item(client, user, item_id).json_body["status"] == "ready"
    assert counts(item_id) == {"analyses": 1, "embeddings": 1}
