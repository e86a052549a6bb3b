"""The OpenAPI document is true: valid OpenAPI 3.1, exactly the routes Chalice registers, and every
response of a flow through every route has a documented status and matches its schema."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec

from chalicelib import openapi, wiring
from tests.collections import images
from tests.collections.conftest import path_of
from tests.conftest import auth_headers, make_token


def test_the_document_is_valid_openapi_and_served(client) -> None:  # noqa: ANN001
    response = client.http.get("/openapi.json")
    assert response.status_code == 200
    assert response.json_body == openapi.document()
    validate_spec(response.json_body)


def test_documented_routes_are_exactly_the_app_routes() -> None:
    from app import app

    registered = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    documented = {(path, method) for path, ops in openapi.document()["paths"].items() for method in ops}
    assert documented == registered


def test_authenticated_routes_are_documented_as_such() -> None:
    from app import app

    doc = openapi.document()
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            op = doc["paths"][path][method.lower()]
            assert bool(op["security"]) == (entry.authorizer is not None), (method, path)
            if entry.authorizer is not None:
                assert "401" in op["responses"], (method, path)


class Checker:
    """Validates each response against the operation it came from: a documented status (and no
    5xx: every operation documents 500, so a crash would otherwise pass), a schema-valid body,
    and the documented headers (``Retry-After`` on every 503, ``X-Trace-Id`` where declared)."""

    def __init__(self) -> None:
        self.doc = openapi.document()
        self.seen: set[tuple[str, str, int]] = set()

    def check(self, response: Any, path: str, method: str, expect: int | None = None) -> Any:
        status = response.status_code
        if expect is not None:
            assert status == expect, f"{method} {path}: {status}, expected {expect}: {response.body!r}"
        else:
            assert status < 500, f"{method} {path}: {status} {response.body!r}"
        schema = openapi.response_schema(path, method, status)  # KeyError: an undocumented status
        self.seen.add((path, method, status))
        if schema is not None:
            body = json.loads(response.body) if isinstance(response.body, bytes) else response.body
            validator = Draft202012Validator({**schema, "components": self.doc["components"]})
            errors = sorted(validator.iter_errors(body), key=str)
            assert not errors, f"{method} {path} {status}: {errors[0].message}"
        headers = {k.lower(): v for k, v in response.headers.items()}
        documented = openapi.response_headers(path, method, status)
        if status == 503 and path != "/health":
            assert "Retry-After" in documented, f"{method} {path} 503 does not declare Retry-After"
        for name, header in documented.items():
            value = headers.get(name.lower())
            if value is None:
                assert not header.get("required") and name != "X-Trace-Id", f"{method} {path} {status}: no {name}"
                continue
            errors = list(Draft202012Validator(header["schema"]).iter_errors(value))
            assert not errors, f"{method} {path} {status}: {name}: {value!r}: {errors[0].message}"
        return response


@pytest.fixture()
def checker() -> Checker:
    return Checker()


def _json(client, method: str, url: str, user: str | None, body: Any = None, **headers: str):  # noqa: ANN001, ANN202
    base = auth_headers(user) if user else {"Content-Type": "application/json"}
    data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
    return getattr(client.http, method)(url, headers={**base, **headers}, body=data)


def test_a_flow_through_every_route_matches_the_contract(client, runtime, user, checker: Checker) -> None:  # noqa: ANN001, PLR0915
    c = checker.check
    c(client.http.get("/openapi.json"), "/openapi.json", "get")
    c(client.http.get("/health"), "/health", "get")
    c(_json(client, "get", "/me", user), "/me", "get")
    c(_json(client, "get", "/me", None), "/me", "get")  # 401
    bad = client.http.get("/me", headers={"Authorization": f"Bearer {make_token(user, ttl=-3600)}"})
    c(bad, "/me", "get")

    # collections
    created = c(_json(client, "post", "/items", user, {"filename": "a.jpg", "content_type": "image/jpeg"}),
                "/items", "post")
    c(_json(client, "post", "/items", user, {"filename": "a.gif", "content_type": "image/gif"}), "/items", "post")
    c(_json(client, "post", "/items", user, b"{nope"), "/items", "post")
    c(client.http.post("/items", headers={**auth_headers(user), "Content-Type": "text/plain"}, body=b"x"),
      "/items", "post")
    item_id = created.json_body["item_id"]
    upload = created.json_body["upload"]
    put = client.http.put(path_of(upload["url"]), headers=upload["headers"], body=images.jpeg((640, 480), "blue"))
    c(put, "/local/blobs", "put")
    c(client.http.put("/local/blobs?bucket=b&key=k&expires=1&signature=x",
                      headers={"Content-Type": "image/jpeg"}, body=b"x"), "/local/blobs", "put")
    c(_json(client, "post", f"/items/{item_id}/analyze", user, {}), "/items/{item_id}/analyze", "post")  # 409
    runtime.drain()
    c(_json(client, "get", f"/items/{item_id}", user), "/items/{item_id}", "get")
    c(_json(client, "get", "/items/nope", user), "/items/{item_id}", "get")
    c(_json(client, "get", "/items?limit=1", user), "/items", "get")
    c(_json(client, "get", "/items?limit=0", user), "/items", "get")
    c(_json(client, "get", f"/items/{item_id}/analyses", user), "/items/{item_id}/analyses", "get")
    c(_json(client, "post", f"/items/{item_id}/analyze", user, {}, **{"Idempotency-Key": "k1"}),
      "/items/{item_id}/analyze", "post")
    for mode in ("keyword", "vector", "hybrid"):
        c(_json(client, "post", "/search", user, {"query": "blue", "mode": mode}), "/search", "post")
    c(_json(client, "post", "/search", user, {"query": ""}), "/search", "post")
    answered = c(_json(client, "post", "/search", user, {"query": "blue", "answer": True}), "/search", "post")
    assert answered.json_body["answer"] is not None or answered.json_body["answer_error"] is not None
    c(_json(client, "post", "/search", user, {"query": "nothing matches this", "mode": "keyword", "answer": True}),
      "/search", "post")
    c(_json(client, "post", "/search", user, {"query": "blue", "answer": "yes"}), "/search", "post", expect=400)
    thumb_url = _json(client, "get", f"/items/{item_id}", user).json_body["thumbnail_url"]
    c(client.http.get(path_of(thumb_url), headers={"Accept": "image/jpeg"}), "/local/blobs", "get")
    c(client.http.get("/local/blobs?bucket=b&key=k&expires=1&signature=x"), "/local/blobs", "get")
    c(_json(client, "delete", f"/items/{item_id}", user), "/items/{item_id}", "delete")
    c(_json(client, "delete", f"/items/{item_id}", user), "/items/{item_id}", "delete")  # 404

    # tasks
    task = c(_json(client, "post", "/tasks", user, {"description": "quotes for chairs"}), "/tasks", "post")
    c(_json(client, "post", "/tasks", user, {"description": ""}), "/tasks", "post")
    c(_json(client, "post", "/tasks", user, {"description": "a"}, **{"Idempotency-Key": "same"}), "/tasks", "post")
    c(_json(client, "post", "/tasks", user, {"description": "b"}, **{"Idempotency-Key": "same"}), "/tasks", "post")
    runtime.drain()
    c(_json(client, "get", f"/tasks/{task.json_body['id']}", user), "/tasks/{task_id}", "get")
    c(_json(client, "get", "/tasks/nope", user), "/tasks/{task_id}", "get")
    c(_json(client, "get", "/tasks?limit=2", user), "/tasks", "get")
    c(_json(client, "get", "/tasks?cursor=garbage", user), "/tasks", "get")
    c(client.http.options("/tasks", headers={"Origin": "https://evil.example"}), "/tasks", "options")
    c(client.http.options("/tasks/x", headers={"Origin": "https://evil.example"}), "/tasks/{task_id}", "options")

    # vendors: a task that e-mails quote requests, then one vendor's link
    _json(client, "post", "/tasks", user, {"description": "Find me a landscaper in Charlotte"})
    runtime.drain()
    from chalicelib.settings import get_settings
    from tests.vendors.helpers import link_paths, outbox

    path = next(iter(link_paths(outbox(get_settings().local_data_dir)).values()))
    vq = "/vendor/quotes/{token}"
    c(client.http.get(path, headers={"Accept": "application/json"}), vq, "get")
    c(client.http.get(path[:-3] + "AAA", headers={"Accept": "application/json"}), vq, "get")  # 403
    c(_json(client, "post", path, None, {"price": -1, "currency": "USD"}), vq, "post")  # 400
    c(_json(client, "post", path, None, b"x", **{"Content-Type": "text/plain"}), vq, "post")  # 415
    c(_json(client, "post", path, None, {"price": 120, "currency": "USD", "note": "ok"}), vq, "post")
    c(_json(client, "post", path, None, {"price": 120, "currency": "USD"}), vq, "post")  # 409

    # pages
    c(_json(client, "post", "/activity", user, {"page": "dashboard", "action": "view"}), "/activity", "post")
    c(_json(client, "post", "/activity", user, {"events": [{"page": "reports", "action": "open"}] * 3}),
      "/activity", "post")
    c(_json(client, "post", "/activity", user, {"events": []}), "/activity", "post")
    c(_json(client, "get", "/pages/dashboard", user), "/pages/{page_type}", "get")
    c(_json(client, "get", "/pages/Not%20Valid", user), "/pages/{page_type}", "get")
    c(_json(client, "get", "/pages", user), "/pages", "get")

    # the web console and the local stage's routes
    index = c(client.http.get("/"), "/", "get")
    c(client.http.get("/", headers={"If-None-Match": index.headers["ETag"]}), "/", "get", expect=304)
    c(client.http.get("/console/main.js"), "/console/{name}", "get", expect=200)
    c(client.http.get("/console/config.json"), "/console/{name}", "get", expect=200)
    c(client.http.get("/console/..%2Fapp.py"), "/console/{name}", "get", expect=404)
    c(client.http.post("/local/token", headers={"Content-Type": "application/json"}, body=b'{"user": "ann"}'),
      "/local/token", "post", expect=200)
    c(client.http.post("/local/token", headers={"Content-Type": "application/json"}, body=b'{"user": "<x>"}'),
      "/local/token", "post", expect=400)
    c(_json(client, "get", "/local/deliveries?limit=5", user), "/local/deliveries", "get", expect=200)
    c(_json(client, "get", "/local/deliveries?status=lost", user), "/local/deliveries", "get", expect=400)
    c(_json(client, "post", "/local/deliveries/nope/retry", user, {}), "/local/deliveries/{delivery_id}/retry",
      "post", expect=404)
    c(_json(client, "get", "/local/schedules", user), "/local/schedules", "get", expect=200)
    c(_json(client, "post", "/local/schedules/item_sweeper/fire", user, {}), "/local/schedules/{name}/fire",
      "post", expect=202)
    c(_json(client, "post", "/local/schedules/nope/fire", user, {}), "/local/schedules/{name}/fire", "post",
      expect=404)
    c(_json(client, "get", "/local/outbox?limit=5", user), "/local/outbox", "get", expect=200)
    c(_json(client, "get", "/local/outbox?limit=0", user), "/local/outbox", "get", expect=400)
    c(_json(client, "get", "/local/metrics?since=5", user), "/local/metrics", "get", expect=200)
    c(_json(client, "get", "/local/metrics?since=-1", user), "/local/metrics", "get", expect=400)
    for route, ops in openapi.document()["paths"].items():
        if "options" in ops and route not in ("/tasks", "/tasks/{task_id}"):
            concrete = re.sub(r"{\w+}", "x", route)
            c(client.http.options(concrete, headers={"Origin": "https://evil.example"}), route, "options", expect=204)

    documented = {(p, m) for p, ops in openapi.document()["paths"].items() for m in ops}
    assert {(p, m) for p, m, _ in checker.seen} == documented  # every operation was exercised
    assert any(s >= 400 for _, _, s in checker.seen)
    assert wiring.blob_store() is not None


def test_error_bodies_are_json(client, user) -> None:  # noqa: ANN001
    """Our errors carry a code and a message; API Gateway's own (401 from the authorizer, 403 for
    an unknown path) carry its ``message``: every one is JSON."""
    unknown = client.http.get("/nope")
    assert unknown.status_code == 403 and "message" in json.loads(unknown.body)
    assert json.loads(_json(client, "get", "/me", None).body) == {"message": "Unauthorized"}
    for response in (_json(client, "post", "/tasks", user, b"[1]"), _json(client, "get", "/tasks/x", user),
                     _json(client, "post", "/tasks", user, b"{}", **{"Content-Type": "text/plain"})):
        body = json.loads(response.body)
        assert set(body["error"]) >= {"code", "message"}
        assert re.fullmatch(r"[a-z_]+", body["error"]["code"])


def test_with_the_database_down_every_503_is_documented_with_retry_after(  # noqa: ANN201
        client, user, checker: Checker, monkeypatch: pytest.MonkeyPatch, pg_url: str):  # noqa: ANN001
    """The flow above has no 503: here the database refuses connections (a closed port on
    loopback) and every operation documenting 503 must answer it, as documented, with
    ``Retry-After`` (``/health`` answers its own 503 body)."""
    import socket

    from sqlalchemy.engine import make_url

    from chalicelib import settings

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = make_url(pg_url).set(host="127.0.0.1", port=port).difference_update_query(["host"])
    monkeypatch.setenv("DATABASE_URL", down.render_as_string(hide_password=False))
    monkeypatch.setenv("DB_CONNECT_TIMEOUT_SECONDS", "2")
    settings.reset()
    wiring.reset()
    try:
        bodies = {("/items", "post"): {"filename": "a.jpg", "content_type": "image/jpeg"}, ("/search", "post"):
                  {"query": "red"}, ("/tasks", "post"): {"description": "d"},
                  ("/activity", "post"): {"page": "home", "action": "view"}, ("/items/{item_id}/analyze", "post"): {}}
        bodies[("/vendor/quotes/{token}", "post")] = {"price": 1, "currency": "USD"}
        values = {"item_id": "some-item", "task_id": "some-task", "page_type": "home",
                  "token": "00000000-0000-4000-8000-000000000000.9999999999." + "A" * 43}
        checked = 0
        for path, ops in openapi.document()["paths"].items():
            for method, op in ops.items():
                if "503" not in op["responses"]:
                    continue
                body = bodies.get((path, method))
                c = checker.check
                c(_json(client, method, path.format(**values), user, body), path, method, expect=503)
                checked += 1
        assert checked >= 14
    finally:
        wiring.reset()
