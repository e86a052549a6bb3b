"""Thumbnails are tagged for the bucket's lifecycle rule, and the app survives the rule: an
expired thumbnail is rebuilt from the original (API; the analyzer reads the original anyway); with the
original gone too the API reports it, never a 500."""

from __future__ import annotations

import json

import boto3

from chalicelib import wiring
from chalicelib.aws.blobs import S3BlobStore
from chalicelib.collections.model import Item, ItemStatus
from chalicelib.collections.thumbnail_store import THUMBNAIL_TAGS, ensure_thumbnail
from tests.collections import images
from tests.collections.conftest import BUCKET, get_item, path_of, upload
from tests.conftest import auth_headers


def _ready_item(client, runtime, user: str) -> tuple[str, dict]:  # noqa: ANN001
    item_id = upload(client, user, images.jpeg((1600, 1200), "green"))
    runtime.drain()
    item = get_item(client, user, item_id).json_body
    assert item["status"] == "ready" and item["thumbnail"] == "present"
    return item_id, item


def _thumbnail_key(user: str, item_id: str) -> str:
    return f"{user}/thumbnails/{item_id}.jpg"


def test_thumbnails_are_written_with_the_lifecycle_tag(client, runtime, user) -> None:  # noqa: ANN001
    item_id, _ = _ready_item(client, runtime, user)
    meta = wiring.blob_store().head(BUCKET, _thumbnail_key(user, item_id))
    assert meta["tags"] == {"kind": "thumbnail"}
    original = wiring.blob_store().head(BUCKET, f"{user}/{item_id}.jpg")
    assert original["tags"] == {}  # originals are never expired by the rule


def test_an_expired_thumbnail_is_rebuilt_on_read(client, runtime, user) -> None:  # noqa: ANN001
    item_id, before = _ready_item(client, runtime, user)
    blobs, key = wiring.blob_store(), _thumbnail_key(user, item_id)
    expected = blobs.get(BUCKET, key)
    blobs.delete(BUCKET, key)  # what the lifecycle rule does after THUMBNAIL_EXPIRY_DAYS

    response = get_item(client, user, item_id)
    assert response.status_code == 200
    item = response.json_body
    assert item["thumbnail"] == "rebuilt" and item["thumbnail_url"]
    assert blobs.get(BUCKET, key) == expected  # same bytes as the original thumbnail
    assert blobs.head(BUCKET, key)["tags"] == THUMBNAIL_TAGS
    download = client.http.get(path_of(item["thumbnail_url"]), headers={"Accept": "image/jpeg"})
    assert download.status_code == 200 and download.body == expected, download.body
    assert get_item(client, user, item_id).json_body["thumbnail"] == "present"
    runtime.drain()  # the rebuilt object's S3 event is a thumbnail: skipped, nothing re-analysed
    assert get_item(client, user, item_id).json_body["latest_analysis"]["version"] == 1


def test_thumbnail_and_original_gone_is_reported_not_a_500(client, runtime, user) -> None:  # noqa: ANN001
    item_id, _ = _ready_item(client, runtime, user)
    blobs = wiring.blob_store()
    blobs.delete(BUCKET, _thumbnail_key(user, item_id))
    blobs.delete(BUCKET, f"{user}/{item_id}.jpg")
    response = get_item(client, user, item_id)
    assert response.status_code == 200
    assert response.json_body["thumbnail"] == "missing" and response.json_body["thumbnail_url"] is None
    listing = client.http.get("/items", headers=auth_headers(user))
    assert listing.status_code == 200


def test_reanalysis_after_the_thumbnail_expired_uses_the_original(client, runtime, user) -> None:  # noqa: ANN001
    item_id, _ = _ready_item(client, runtime, user)
    blobs = wiring.blob_store()
    blobs.delete(BUCKET, _thumbnail_key(user, item_id))
    again = client.http.post(f"/items/{item_id}/analyze", headers=auth_headers(user), body=json.dumps({}))
    assert again.status_code == 202
    runtime.drain()
    item = get_item(client, user, item_id).json_body
    assert item["status"] == "ready" and item["latest_analysis"]["version"] == 2


def test_s3_store_tags_and_rebuilds(aws) -> None:  # noqa: ANN001
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="bucket")
    store = S3BlobStore(s3)
    store.put("bucket", "u1/a.jpg", images.jpeg((900, 600), "red"), "image/jpeg")
    item = Item(id="i1", user_id="u1", filename="a.jpg", file_path="u1/a.jpg", mime_type="image/jpeg",
                status=ItemStatus.READY, thumbnail_path="u1/thumbnails/a.jpg")
    assert ensure_thumbnail(store, "bucket", item) == "rebuilt"
    tags = s3.get_object_tagging(Bucket="bucket", Key="u1/thumbnails/a.jpg")["TagSet"]
    assert tags == [{"Key": "kind", "Value": "thumbnail"}]
    assert s3.get_object_tagging(Bucket="bucket", Key="u1/a.jpg")["TagSet"] == []
    assert ensure_thumbnail(store, "bucket", item) == "present"
    s3.delete_object(Bucket="bucket", Key="u1/a.jpg")
    s3.delete_object(Bucket="bucket", Key="u1/thumbnails/a.jpg")
    assert ensure_thumbnail(store, "bucket", item) == "missing"
