"""Every route x {no token, malformed, expired, wrong signature, alg=none, no sub, another user's
token, the owner's}: the right status, and no data of the owner in any other caller's response.

Routes come from ``app.routes``, so a new route is covered (or must be listed as public) at once."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from tests.collections import images
from tests.collections.conftest import upload
from tests.conftest import TEST_JWT_SECRET, auth_headers, make_token

#: Routes with no token by design: the contract, health, CORS preflights, signed blob URLs, the
#: console's static files and the local stage's sign-in.
PUBLIC = {("/openapi.json", "GET"), ("/health", "GET"), ("/local/blobs", "PUT"), ("/local/blobs", "GET"),
          ("/", "GET"), ("/console/{name}", "GET"), ("/local/token", "POST"),
          # The signed quote link is the vendor's credential (tests/vendors checks 403/410/409).
          ("/vendor/quotes/{token}", "GET"), ("/vendor/quotes/{token}", "POST")}


def _public(path: str, method: str) -> bool:
    return method == "OPTIONS" or (path, method) in PUBLIC


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def bad_tokens(user: str) -> dict[str, str | None]:
    now = int(time.time())
    return {
        "none": None,
        "malformed": "not-a-jwt",
        "expired": make_token(user, ttl=-3600),
        "wrong_signature": jwt.encode({"sub": user, "iat": now, "exp": now + 600}, "another-secret-" + "y" * 40,
                                      algorithm="HS256"),
        "alg_none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'sub': user, 'exp': now + 600})}.",
        "no_sub": jwt.encode({"iat": now, "exp": now + 600}, TEST_JWT_SECRET, algorithm="HS256"),
    }


@pytest.fixture()
def owned(client, runtime, user) -> dict[str, str]:  # noqa: ANN001
    """The owner's data, made through the API: an analysed item, a task, activity and a page."""
    headers = auth_headers(user)
    item_id = upload(client, user, images.jpeg((800, 600), "red"))
    task = client.http.post("/tasks", headers=headers,
                            body=json.dumps({"description": "SECRET-TASK-owner-only quotes"})).json_body
    client.http.post("/activity", headers=headers,
                     body=json.dumps({"page": "secret-owner-page", "action": "view", "metadata": {"k": "SECRET-META"}}))
    runtime.drain()
    page = client.http.get("/pages/secret-owner-page", headers=headers)
    assert page.status_code == 200
    analysis = client.http.get(f"/items/{item_id}", headers=headers).json_body["latest_analysis"]
    assert analysis["headline"] and analysis["summary"], analysis
    return {"item_id": item_id, "task_id": task["id"], "page_type": "secret-owner-page",
            "headline": analysis["headline"], "summary": analysis["summary"]}


def requests_for(owned: dict[str, str]) -> list[tuple[str, str, str, bytes | None]]:
    """(route, method, concrete path, body) for every authenticated route."""
    item, task = owned["item_id"], owned["task_id"]
    return [
        ("/me", "GET", "/me", None),
        ("/items", "POST", "/items", json.dumps({"filename": "x.jpg", "content_type": "image/jpeg"}).encode()),
        ("/items", "GET", "/items", None),
        ("/items/{item_id}", "GET", f"/items/{item}", None),
        ("/items/{item_id}/analyses", "GET", f"/items/{item}/analyses", None),
        ("/items/{item_id}/analyze", "POST", f"/items/{item}/analyze", b"{}"),
        ("/search", "POST", "/search", json.dumps({"query": "red", "mode": "hybrid"}).encode()),
        ("/tasks", "POST", "/tasks", json.dumps({"description": "probe"}).encode()),
        ("/tasks", "GET", "/tasks", None),
        ("/tasks/{task_id}", "GET", f"/tasks/{task}", None),
        ("/activity", "POST", "/activity", json.dumps({"page": "probe", "action": "view"}).encode()),
        ("/pages", "GET", "/pages", None),
        ("/pages/{page_type}", "GET", f"/pages/{owned['page_type']}", None),
        # the local runtime's operations (local stage only): no user data in them
        ("/local/deliveries", "GET", "/local/deliveries", None),
        ("/local/schedules", "GET", "/local/schedules", None),
        ("/local/schedules/{name}/fire", "POST", "/local/schedules/item_sweeper/fire", b"{}"),
        ("/local/metrics", "GET", "/local/metrics", None),
        ("/local/outbox", "GET", "/local/outbox", None),
        ("/local/deliveries/{delivery_id}/retry", "POST", "/local/deliveries/no-such-delivery/retry", b"{}"),
        ("/items/{item_id}", "DELETE", f"/items/{item}", None),  # last: it removes the item
    ]


def _call(client, method: str, path: str, body: bytes | None, token: str | None):  # noqa: ANN001, ANN202
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return getattr(client.http, method.lower())(path, headers=headers, body=body)


def test_every_route_is_authenticated_or_declared_public() -> None:
    from app import app

    for path, methods in app.routes.items():
        for method, entry in methods.items():
            assert (entry.authorizer is not None) != _public(path, method), (method, path)


def test_the_matrix(client, user, owned) -> None:  # noqa: ANN001
    from app import app

    calls = requests_for(owned)
    authenticated = {(p, m) for p, ms in app.routes.items() for m, e in ms.items() if e.authorizer is not None}
    assert {(route, method) for route, method, _, _ in calls} == authenticated

    secrets = [owned["item_id"], owned["task_id"], "SECRET-TASK", "SECRET-META", user, owned["page_type"],
               owned["headline"], owned["summary"]]
    stranger = f"stranger-{user}"
    theirs: dict[str, set[str]] = {"items": set(), "tasks": set(), "pages": set()}  # what the stranger made
    for route, method, path, body in calls:
        for name, token in bad_tokens(user).items():
            response = _call(client, method, path, body, token)
            assert response.status_code == 401, (name, method, route, response.status_code)
            assert json.loads(response.body) == {"message": "Unauthorized"}

        response = _call(client, method, path, body, make_token(stranger))
        text = response.body.decode() if isinstance(response.body, bytes) else str(response.body)
        for secret in (s for s in secrets if s not in path):  # an id the caller sent may be echoed back
            assert secret not in text.replace(stranger, ""), (method, route, secret)
        if "{item_id}" in route or "{task_id}" in route:
            assert response.status_code == 404, (method, route, response.status_code)
        elif route == "/pages/{page_type}":
            # The page type is known from the owner's activity only: the stranger's miss is a 404.
            assert response.status_code == 404, (method, route, response.status_code)
        else:
            assert response.status_code < 500, (method, route)
        if (route, method) == ("/items", "POST"):
            theirs["items"].add(response.json_body["item_id"])
        elif (route, method) == ("/tasks", "POST"):
            theirs["tasks"].add(response.json_body["id"])
        elif (route, method) == ("/items", "GET"):  # exactly the stranger's own data, never the owner's
            assert {i["item_id"] for i in response.json_body["items"]} == theirs["items"], response.json_body
        elif (route, method) == ("/tasks", "GET"):
            assert {t["id"] for t in response.json_body["tasks"]} == theirs["tasks"], response.json_body
        elif (route, method) == ("/pages", "GET"):
            assert {p["page_type"] for p in response.json_body["pages"]} == theirs["pages"], response.json_body

        owner = _call(client, method, path, body, make_token(user))
        expected = 404 if route == "/local/deliveries/{delivery_id}/retry" else None  # no such delivery
        assert owner.status_code == expected if expected else owner.status_code < 400, (method, route, owner.body)


def test_a_stranger_changes_nothing(client, runtime, user, owned) -> None:  # noqa: ANN001
    stranger = auth_headers(f"stranger-{user}")
    item, task = owned["item_id"], owned["task_id"]
    assert client.http.delete(f"/items/{item}", headers=stranger).status_code == 404
    assert client.http.post(f"/items/{item}/analyze", headers=stranger, body=b"{}").status_code == 404
    runtime.drain()
    mine = client.http.get(f"/items/{item}", headers=auth_headers(user)).json_body
    assert mine["status"] == "ready" and mine["latest_analysis"]["version"] == 1
    assert client.http.get(f"/tasks/{task}", headers=auth_headers(user)).status_code == 200
    listed = client.http.get("/tasks", headers=stranger).json_body["tasks"]
    assert all(t["id"] != task for t in listed)
    assert client.http.get("/items", headers=stranger).json_body["items"] == []
