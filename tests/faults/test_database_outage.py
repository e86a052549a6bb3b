"""The database stops mid-run (a TCP proxy in front of the embedded PostgreSQL is cut): every
route answers 503 with Retry-After, never 500; background deliveries fail and are kept for
retry; once the database is back everything recovers with no restart and nothing accepted is
lost."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from chalicelib import settings, wiring
from tests.collections import images
from tests.collections.conftest import upload
from tests.conftest import auth_headers
from tests.faults.tcp_proxy import TcpProxy


@pytest.fixture()
def proxy(local_env, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TcpProxy]:  # noqa: ANN001
    url = make_url(pg_url)
    socket_dir = url.query.get("host")  # pgserver listens on a Unix socket in its data folder
    tcp = TcpProxy(url.port or 5432, url.host or "127.0.0.1",
                   unix_socket=f"{socket_dir}/.s.PGSQL.{url.port or 5432}" if socket_dir else None)
    proxied = url.set(host="127.0.0.1", port=tcp.port).difference_update_query(["host"])
    monkeypatch.setenv("DATABASE_URL", proxied.render_as_string(hide_password=False))
    monkeypatch.setenv("DB_CONNECT_TIMEOUT_SECONDS", "2")
    settings.reset()
    wiring.reset()
    yield tcp
    tcp.close()
    wiring.reset()


def test_database_outage_503_then_recovery_with_nothing_lost(client, proxy: TcpProxy, user) -> None:  # noqa: ANN001
    headers = auth_headers(user)
    runtime = wiring.local_runtime()
    task = client.http.post("/tasks", headers=headers, body=json.dumps({"description": "before the outage"}))
    assert task.status_code == 202
    assert client.http.post("/activity", headers=headers,
                            body=json.dumps({"page": "home", "action": "view"})).status_code == 202
    item_id = upload(client, user, images.jpeg((640, 480), "red"))

    proxy.cut()
    during = {
        "GET /health": client.http.get("/health"),
        "GET /tasks": client.http.get("/tasks", headers=headers),
        "POST /tasks": client.http.post("/tasks", headers=headers, body=json.dumps({"description": "during"})),
        "GET /tasks/{id}": client.http.get(f"/tasks/{task.json_body['id']}", headers=headers),
        "POST /activity": client.http.post("/activity", headers=headers,
                                           body=json.dumps({"page": "home", "action": "view"})),
        "GET /pages": client.http.get("/pages", headers=headers),
        "GET /pages/{type}": client.http.get("/pages/home", headers=headers),
        "GET /items": client.http.get("/items", headers=headers),
        "GET /items/{id}": client.http.get(f"/items/{item_id}", headers=headers),
        "POST /items": client.http.post("/items", headers=headers,
                                        body=json.dumps({"filename": "a.jpg", "content_type": "image/jpeg"})),
        "POST /search": client.http.post("/search", headers=headers, body=json.dumps({"query": "red"})),
    }
    for route, response in during.items():
        assert response.status_code == 503, (route, response.status_code, response.body)
        if route != "GET /health":
            assert response.headers.get("Retry-After"), route
            assert json.loads(response.body)["error"]["code"] == "service_unavailable", route
    assert json.loads(during["GET /health"].body)["database"]["reachable"] is False

    # Background work during the outage fails and is kept for retry, not dropped.
    runtime.drain(timeout=20)
    failed = runtime.queue.failed_deliveries()
    assert {d.target for d in failed} >= {"task_worker", "collections_image_processor"}
    assert all("OperationalError" in (d.last_error or "") for d in failed)

    proxy.restore()
    assert client.http.get("/health").status_code == 200
    assert client.http.get("/tasks", headers=headers).status_code == 200
    for delivery in failed:  # what `make retry ID=...` does
        runtime.queue.retry(delivery.id)
    runtime.drain()
    mine = client.http.get(f"/tasks/{task.json_body['id']}", headers=headers).json_body
    assert mine["status"] == "completed" and mine["description"] == "before the outage"
    assert client.http.get(f"/items/{item_id}", headers=headers).json_body["status"] == "ready"
    listed = client.http.get("/tasks", headers=headers).json_body["tasks"]
    assert [t["description"] for t in listed] == ["before the outage"]  # the 503'd create stored nothing
