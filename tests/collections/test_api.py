"""The HTTP API: validation naming the field, ownership (404 for others), pagination and
category filter, delete, re-analysis versions, odd keys end to end."""

from __future__ import annotations

import json

import pytest

from chalicelib import wiring
from tests.collections import images
from tests.collections.conftest import BUCKET, counts, create_item, get_item, search, upload
from tests.conftest import auth_headers


@pytest.mark.parametrize(("body", "field"), [
    ({"content_type": "image/jpeg"}, "filename"),
    ({"filename": "a.gif", "content_type": "image/jpeg"}, "filename"),
    ({"filename": "../etc/a.jpg", "content_type": "image/jpeg"}, "filename"),
    ({"filename": "dir/a.jpg", "content_type": "image/jpeg"}, "filename"),
    ({"filename": "x" * 300 + ".jpg", "content_type": "image/jpeg"}, "filename"),
    ({"filename": "a.jpg"}, "content_type"),
    ({"filename": "a.jpg", "content_type": "image/gif"}, "content_type"),
    ({"filename": "a.png", "content_type": "image/jpeg"}, "content_type"),
])
def test_create_item_validation_names_the_field(client, user, body, field) -> None:  # noqa: ANN001
    response = client.http.post("/items", headers=auth_headers(user), body=json.dumps(body))
    assert response.status_code == 400, response.body
    assert response.json_body["error"]["field"] == field


def test_routes_require_a_token(client) -> None:  # noqa: ANN001
    for method, path in [("GET", "/items"), ("POST", "/items"), ("GET", "/items/x"), ("DELETE", "/items/x"),
                         ("POST", "/items/x/analyze"), ("GET", "/items/x/analyses"), ("POST", "/search")]:
        assert client.http.request(method, path, headers={"Content-Type": "application/json"},
                                   body=b"{}").status_code == 401, (method, path)


def test_create_item_returns_a_put_upload(client, user) -> None:  # noqa: ANN001
    created = create_item(client, user, "Holiday Photo.JPEG", "image/jpeg")
    assert created["upload"]["method"] == "PUT" and created["upload"]["url"].startswith("http")
    assert created["upload"]["headers"]["Content-Type"] == "image/jpeg"
    item = get_item(client, user, created["item_id"]).json_body
    assert item["status"] == "awaiting_upload" and item["filename"] == "Holiday Photo.JPEG"


def test_other_users_items_are_404_everywhere(client, runtime, fakes, user) -> None:  # noqa: ANN001
    item_id = upload(client, user, images.jpeg())
    runtime.drain()
    other = auth_headers("intruder")
    assert client.http.get(f"/items/{item_id}", headers=other).status_code == 404
    assert client.http.get(f"/items/{item_id}/analyses", headers=other).status_code == 404
    assert client.http.post(f"/items/{item_id}/analyze", headers=other).status_code == 404
    assert client.http.delete(f"/items/{item_id}", headers=other).status_code == 404
    assert client.http.get("/items", headers=other).json_body["items"] == []
    assert get_item(client, user, item_id).json_body["status"] == "ready"


def test_list_paginates_newest_first_and_filters_by_category(client, runtime, fakes, user) -> None:  # noqa: ANN001
    ids = [upload(client, user, images.jpeg((400, 300), color)) for color in ("red", "green", "blue", "red")]
    runtime.drain()
    seen, cursor = [], None
    while True:
        query = "/items?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.http.get(query, headers=auth_headers(user)).json_body
        seen += [item["item_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids[::-1]
    food = client.http.get("/items?category=Food", headers=auth_headers(user)).json_body["items"]
    assert [item["item_id"] for item in food] == [ids[3], ids[0]]
    assert client.http.get("/items?limit=0", headers=auth_headers(user)).json_body["error"]["field"] == "limit"
    assert client.http.get("/items?cursor=nonsense", headers=auth_headers(user)).status_code == 400


def test_delete_removes_objects_rows_and_embeddings(client, runtime, fakes, user) -> None:  # noqa: ANN001
    item_id = upload(client, user, images.jpeg((900, 900), "blue"))
    runtime.drain()
    store = wiring.blob_store()
    assert store.exists(BUCKET, f"{user}/{item_id}.jpg") and store.exists(BUCKET, f"{user}/thumbnails/{item_id}.jpg")
    response = client.http.delete(f"/items/{item_id}", headers=auth_headers(user))
    assert response.status_code == 204
    assert not store.exists(BUCKET, f"{user}/{item_id}.jpg")
    assert not store.exists(BUCKET, f"{user}/thumbnails/{item_id}.jpg")
    assert counts(item_id) == {"analyses": 0, "embeddings": 0}
    assert get_item(client, user, item_id).status_code == 404
    assert search(client, user, query="ocean", mode="hybrid").json_body["results"] == []


def test_reanalyze_adds_a_version_and_replaces_the_embedding(client, runtime, fakes, user) -> None:  # noqa: ANN001
    llm, embedder = fakes
    item_id = upload(client, user, images.jpeg((800, 600), "green"))
    runtime.drain()
    headers = auth_headers(user, **{"Idempotency-Key": "retry-safe-1"})
    for _ in range(2):  # a client retry with the same key asks for the same version
        response = client.http.post(f"/items/{item_id}/analyze", headers=headers)
        assert response.status_code == 202 and response.json_body["status"] == "processing"
    runtime.drain()
    client.http.post(f"/items/{item_id}/analyze", headers=auth_headers(user))
    runtime.drain()

    versions = client.http.get(f"/items/{item_id}/analyses", headers=auth_headers(user)).json_body["analyses"]
    assert [a["version"] for a in versions] == [3, 2, 1]
    assert counts(item_id) == {"analyses": 3, "embeddings": 1}  # one vector per item: the current one
    item = get_item(client, user, item_id).json_body
    assert item["status"] == "ready" and item["latest_analysis"]["id"] == versions[0]["id"]
    assert len(llm.calls) == 3


def test_reanalyze_before_upload_is_a_conflict(client, user) -> None:  # noqa: ANN001
    created = create_item(client, user)
    response = client.http.post(f"/items/{created['item_id']}/analyze", headers=auth_headers(user))
    assert response.status_code == 409


@pytest.mark.parametrize("name", ["my photo+1 100%: ü.jpg", "Ünïcödé façade.PNG", "a%2Fb+c.jpeg"])
def test_odd_file_names_work_end_to_end(client, runtime, fakes, user, name) -> None:  # noqa: ANN001
    is_png = name.lower().endswith(".png")
    data = images.png((600, 600), "red") if is_png else images.jpeg((600, 600), "red")
    item_id = upload(client, user, data, name, "image/png" if is_png else "image/jpeg")
    runtime.drain()
    item = get_item(client, user, item_id).json_body
    assert item["status"] == "ready" and item["filename"] == name


@pytest.mark.parametrize("key_name", ["holiday pics/a+b ü:x%y.jpg", "100% real+fake.JPG", "x%20y.jpeg"])
def test_odd_keys_uploaded_straight_to_the_bucket(client, runtime, fakes, user, key_name) -> None:  # noqa: ANN001
    key = f"{user}/{key_name}"
    wiring.blob_store().put(BUCKET, key, images.jpeg((500, 400), "green"), "image/jpeg")
    runtime.drain()
    [item] = client.http.get("/items", headers=auth_headers(user)).json_body["items"]
    assert item["status"] == "ready" and item["filename"] == key_name.rsplit("/", 1)[-1]
    assert wiring.blob_store().exists(BUCKET, f"{user}/thumbnails/{key_name}")


def test_the_documented_item_statuses_are_the_stored_ones() -> None:
    from chalicelib.collections.model import ItemStatus
    from chalicelib.openapi import document

    schemas = document()["components"]["schemas"]
    assert schemas["ItemSummary"]["properties"]["status"]["enum"] == [status.value for status in ItemStatus]
    assert schemas["ItemCreated"]["properties"]["status"]["const"] == ItemStatus.AWAITING_UPLOAD
