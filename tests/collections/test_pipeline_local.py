"""End to end through the local runtime: PUT upload -> S3 handler -> analyzer -> embedder ->
GET /items/{id} ready -> POST /search finds it (fake LLM/embedder at the network edge)."""

from __future__ import annotations

from chalicelib import wiring
from tests.collections import images
from tests.collections.conftest import BUCKET, get_item, search, upload
from tests.conftest import auth_headers


def test_upload_to_search(client, runtime, fakes, user) -> None:  # noqa: ANN001
    llm, embedder = fakes
    item_id = upload(client, user, images.jpeg((3000, 2000), "blue"))
    assert get_item(client, user, item_id).json_body["status"] == "awaiting_upload"

    assert runtime.deliver_once().target == "collections_image_processor"  # the bytes arrived
    assert get_item(client, user, item_id).json_body["status"] == "processing"
    runtime.drain()

    item = get_item(client, user, item_id).json_body
    assert item["status"] == "ready", item
    assert item["error"] is None
    assert item["category"] == "travel"
    assert item["latest_analysis"]["version"] == 1
    assert item["latest_analysis"]["analysis"]["headline"] == "Ocean beach at noon"
    thumb = wiring.blob_store().get(BUCKET, f"{user}/thumbnails/{item_id}.jpg")
    import io

    from PIL import Image
    with Image.open(io.BytesIO(thumb)) as im:
        assert im.format == "JPEG" and im.size == (800, 533)
    assert item["thumbnail_url"]
    assert len(llm.calls) == 1 and embedder.calls == [(1, "document")]

    for mode in ("keyword", "vector", "hybrid"):
        found = search(client, user, query="ocean waves", mode=mode)
        assert found.status_code == 200, found.body
        results = found.json_body["results"]
        assert [r["item_id"] for r in results] == [item_id], (mode, results)
        assert results[0]["category"] == "travel" and results[0]["thumbnail_url"]

    stranger = search(client, "someone-else", query="ocean waves", mode="hybrid")
    assert stranger.json_body["results"] == []
    assert client.http.get(f"/items/{item_id}", headers=auth_headers("someone-else")).status_code == 404
