"""Local blob store and raw Lambda event builders."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from chalice.app import CloudWatchEvent, S3Event

from chalicelib.ports import BlobNotFound
from localdev.blobs import LocalBlobStore
from localdev.lambda_events import (
    eventbridge_event,
    s3_object_created_event,
    scheduled_event,
)

ODD_KEY = "user 1/a+b ü:x%20y (1).jpg"


def test_put_get_delete_with_odd_key(tmp_path: Path) -> None:
    seen: list[tuple] = []
    store = LocalBlobStore(tmp_path, notify=lambda *a: seen.append(a))
    store.put("my-bucket", ODD_KEY, b"hello", "image/jpeg")
    assert store.get("my-bucket", ODD_KEY) == b"hello"
    assert store.exists("my-bucket", ODD_KEY)
    assert (tmp_path / "my-bucket" / "user 1" / "a+b ü:x%20y (1).jpg").read_bytes() == b"hello"
    assert store.head("my-bucket", ODD_KEY)["content_type"] == "image/jpeg"
    assert seen == [("my-bucket", ODD_KEY, 5, "5d41402abc4b2a76b9719d911017c592")]
    store.delete("my-bucket", ODD_KEY)
    assert not store.exists("my-bucket", ODD_KEY)
    with pytest.raises(BlobNotFound):
        store.get("my-bucket", ODD_KEY)
    store.delete("my-bucket", ODD_KEY)  # idempotent


@pytest.mark.parametrize("key", ["../x", "a/../../x", "a/./b", "/abs", "a//b", "", "a\\..\\b", "..", "x\x00"])
def test_keys_cannot_escape(tmp_path: Path, key: str) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    with pytest.raises(ValueError):
        store.put("my-bucket", key, b"x")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("bucket", ["..", "../etc", "A", "a", "my_bucket", ".meta", "a/b"])
def test_bad_buckets(tmp_path: Path, bucket: str) -> None:
    with pytest.raises(ValueError):
        LocalBlobStore(tmp_path).put(bucket, "k", b"x")


def test_presigned_urls(tmp_path: Path) -> None:
    now = [1_000_000.0]
    store = LocalBlobStore(tmp_path, secret="s3cret", public_base_url="http://127.0.0.1:8000/", clock=lambda: now[0])
    signed = store.presigned_put("my-bucket", ODD_KEY, "image/png", expires_in=60)
    assert signed["method"] == "PUT" and signed["headers"] == {"Content-Type": "image/png"}
    url = urlsplit(signed["url"])
    assert url.netloc == "127.0.0.1:8000"
    assert url.path == "/local/blobs"
    q = parse_qs(url.query)
    assert q["bucket"] == ["my-bucket"]
    key = q["key"][0]
    assert key == ODD_KEY
    expires, sig = q["expires"][0], q["signature"][0]
    assert store.verify_signature("my-bucket", key, expires, sig, content_type="image/png")
    # the Content-Type is signed, as in S3's presigned PUT: another one (or none) does not match
    assert not store.verify_signature("my-bucket", key, expires, sig, content_type="image/jpeg")
    assert not store.verify_signature("my-bucket", key, expires, sig)
    assert not store.verify_signature("my-bucket", key, expires, sig, method="GET", content_type="image/png")
    assert not store.verify_signature("my-bucket", key + "x", expires, sig, content_type="image/png")
    assert not store.verify_signature("my-bucket", key, int(expires) + 1, sig, content_type="image/png")
    assert not store.verify_signature("my-bucket", key, "junk", sig, content_type="image/png")
    assert not LocalBlobStore(tmp_path, secret="other", clock=lambda: now[0]).verify_signature(
        "my-bucket", key, expires, sig, content_type="image/png"
    )
    assert not store.expired(expires)
    now[0] += 61
    assert store.expired(expires) and store.expired("junk")
    assert not store.verify_signature("my-bucket", key, expires, sig, content_type="image/png")
    get_url = urlsplit(store.presigned_get("my-bucket", ODD_KEY))
    gq = parse_qs(get_url.query)
    assert store.verify_signature("my-bucket", ODD_KEY, gq["expires"][0], gq["signature"][0], method="GET")


def test_s3_event_key_round_trips_through_chalice() -> None:
    for key in [ODD_KEY, "plain.jpg", "a+b", "100%", "x:y/ä ö/€.png", "sp  ace"]:
        event = s3_object_created_event("my-bucket", key, 10, '"abc"')
        record = event["Records"][0]
        assert record["eventName"] == "ObjectCreated:Put"
        assert record["s3"]["object"]["eTag"] == "abc"
        assert " " not in record["s3"]["object"]["key"]
        parsed = S3Event(event, None)
        assert parsed.bucket == "my-bucket" and parsed.key == key


def test_eventbridge_and_scheduled_events_parse_in_chalice() -> None:
    e = eventbridge_event("src", "Thing Happened", '{"a": 1}', id="abc")
    parsed = CloudWatchEvent(e, None)
    assert parsed.source == "src" and parsed.detail_type == "Thing Happened"
    assert parsed.detail == {"a": 1} and parsed.event_id == "abc"
    s = CloudWatchEvent(scheduled_event("nightly"), None)
    assert s.source == "aws.events" and s.detail_type == "Scheduled Event" and s.detail == {}
    assert s.resources == ["arn:aws:events:us-east-1:123456789012:rule/nightly"]
