"""The local stand-in for presigned S3 URLs: PUT/GET /local/blobs with an HMAC signature."""

from __future__ import annotations

from urllib.parse import urlsplit

from chalicelib import wiring

ODD_KEY = "alice/holiday pics/a+b ü:x%y.png"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_presigned_put_then_get_round_trips_bytes(client) -> None:  # noqa: ANN001
    store = wiring.blob_store()
    signed = store.presigned_put("collections-images-local", ODD_KEY, "image/png")
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    response = client.http.put(_path(signed["url"]), headers=signed["headers"], body=data)
    assert response.status_code == 200, response.body
    assert response.json_body["key"] == ODD_KEY and response.json_body["size"] == len(data)
    assert store.get("collections-images-local", ODD_KEY) == data

    got = client.http.get(_path(store.presigned_get("collections-images-local", ODD_KEY)),
                          headers={"Accept": "image/avif,image/webp,*/*;q=0.8"})
    assert got.status_code == 200, got.body
    assert got.headers["Content-Type"] == "image/png"
    assert got.body == data


def test_tampered_or_missing_signature_is_refused(client) -> None:  # noqa: ANN001
    store = wiring.blob_store()
    signed = store.presigned_put("collections-images-local", "alice/a.png", "image/png")
    tampered = _path(signed["url"]).replace("alice%2Fa.png", "bob%2Fa.png")
    response = client.http.put(tampered, headers=signed["headers"], body=b"x")
    assert response.status_code == 403
    assert response.json_body["error"]["code"] == "signature_does_not_match"
    assert not store.exists("collections-images-local", "bob/a.png")

    missing = client.http.put("/local/blobs?bucket=b&key=k", headers={"Content-Type": "image/png"}, body=b"x")
    assert missing.status_code == 400 and missing.json_body["error"]["field"] == "expires"


def test_a_get_signature_cannot_upload(client) -> None:  # noqa: ANN001
    store = wiring.blob_store()
    url = store.presigned_get("collections-images-local", "alice/b.png")
    response = client.http.put(_path(url), headers={"Content-Type": "image/png"}, body=b"x")
    assert response.status_code == 403


def test_a_put_with_another_content_type_is_refused_like_s3(client) -> None:  # noqa: ANN001
    store = wiring.blob_store()
    signed = store.presigned_put("collections-images-local", "alice/d.png", "image/png")
    for content_type in ("image/jpeg", "text/plain", "image/png; charset=x"):
        response = client.http.put(_path(signed["url"]), headers={"Content-Type": content_type}, body=b"x")
        assert response.status_code == 403, (content_type, response.body)
        error = response.json_body["error"]
        assert error["code"] == "signature_does_not_match" and content_type in error["message"]
    assert not store.exists("collections-images-local", "alice/d.png")


def test_an_expired_url_is_refused(client) -> None:  # noqa: ANN001
    store = wiring.blob_store()
    url = store.presigned_get("collections-images-local", "alice/e.png", expires_in=-1)
    response = client.http.get(_path(url), headers={"Accept": "*/*"})
    assert response.status_code == 403 and response.json_body["error"]["code"] == "request_expired"


def test_upload_over_the_limit_is_413(client, monkeypatch) -> None:  # noqa: ANN001
    from chalicelib import settings

    monkeypatch.setenv("MAX_UPLOAD_BYTES", "10")
    settings.get_settings.cache_clear()
    store = wiring.blob_store()
    signed = store.presigned_put("collections-images-local", "alice/c.png", "image/png")
    response = client.http.put(_path(signed["url"]), headers=signed["headers"], body=b"x" * 11)
    assert response.status_code == 413
