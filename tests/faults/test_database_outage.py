"""The database stops mid-run (a TCP proxy in front of the embedded PostgreSQL is cut): every
route answers 503 with Retry-After, never 500; background deliveries fail and are kept for
retry; once the database is back everything recovers with no restart and nothing accepted is
lost."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from chalicelib import settings, wiring
from chalicelib.pages.tables import activity_log
from tests.collections import images
from tests.collections.conftest import upload
from tests.conftest import auth_headers
from tests.faults.tcp_proxy import TcpProxy

#: Routes that never touch the database: the contract, the caller's identity, the console's
#: static files, CORS preflights
#: and the local stage's own routes under /local (signed blob URLs, sign-in, deliveries,
#: schedules, metrics, outbox: files and the SQLite delivery queue, not PostgreSQL).
DATABASE_FREE = {("/openapi.json", "GET"), ("/me", "GET"), ("/", "GET"), ("/console/{name}", "GET")}
LOCAL_ONLY_PREFIX = "/local/"

#: A valid body for each route that takes one (a new POST route must be given one here).
BODIES = {
    ("/tasks", "POST"): {"description": "during"},
    ("/activity", "POST"): {"page": "home", "action": "view", "metadata": {"marker": "during"}},
    ("/items", "POST"): {"filename": "a.jpg", "content_type": "image/jpeg"},
    ("/items/{item_id}/analyze", "POST"): {},
    ("/search", "POST"): {"query": "red"},
    ("/vendor/quotes/{token}", "POST"): {"price": 10, "currency": "USD"},
}
#: A well-formed quote link token (its lookup needs the database).
TOKEN = "00000000-0000-4000-8000-000000000000.9999999999." + "A" * 43


def database_requests(task_id: str, item_id: str) -> list[tuple[str, str, str, str | None]]:
    """(route, method, concrete path, body) for every route in ``app.routes`` that uses the
    database, derived from the app so a new route is covered at once."""
    from app import app

    values = {"task_id": task_id, "item_id": item_id, "page_type": "home", "token": TOKEN}
    calls = []
    for route, methods in app.routes.items():
        for method in methods:
            if method == "OPTIONS" or (route, method) in DATABASE_FREE or route.startswith(LOCAL_ONLY_PREFIX):
                continue
            body = BODIES[(route, method)] if method in ("POST", "PUT", "PATCH") else None
            calls.append((route, method, route.format(**values), None if body is None else json.dumps(body)))
    # A DELETE last, so that were it to go through, the checks after the outage would notice.
    return sorted(calls, key=lambda c: c[1] == "DELETE")


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
                            body=json.dumps({"page": "home", "action": "view",
                                             "metadata": {"marker": "before"}})).status_code == 202
    item_id = upload(client, user, images.jpeg((640, 480), "red"))

    proxy.cut()
    during = {}
    for route, method, path, body in database_requests(task.json_body["id"], item_id):
        during[f"{method} {route}"] = getattr(client.http, method.lower())(path, headers=headers, body=body)
    assert len(during) >= 14, sorted(during)  # every database-backed route, /health included
    for route, response in during.items():
        assert response.status_code == 503, (route, response.status_code, response.body)
        body = json.loads(response.body)  # a JSON body on every one
        if route == "GET /health":
            assert body["database"]["reachable"] is False
        else:
            assert response.headers.get("Retry-After"), route
            assert body["error"]["code"] == "service_unavailable", route

    # Background work during the outage fails and is kept for retry, not dropped.
    runtime.drain(timeout=20)
    failed = runtime.queue.failed_deliveries()
    assert {d.target for d in failed} >= {"task_worker", "collections_image_processor"}
    assert all("OperationalError" in (d.last_error or "") for d in failed)
    assert all(d.attempts == 3 for d in failed), [(d.target, d.attempts) for d in failed]

    proxy.restore()
    assert client.http.get("/health").status_code == 200
    assert client.http.get("/tasks", headers=headers).status_code == 200
    for delivery in failed:  # what `make retry ID=...` does
        runtime.queue.retry(delivery.id)
    runtime.drain()
    mine = client.http.get(f"/tasks/{task.json_body['id']}", headers=headers).json_body
    assert mine["status"] == "completed" and mine["description"] == "before the outage"
    item = client.http.get(f"/items/{item_id}", headers=headers).json_body  # the 503'd DELETE removed nothing
    assert item["status"] == "ready" and item["latest_analysis"]["version"] == 1, item  # nor re-analysed
    # The 503'd creates stored nothing: one task, one item, one activity row (the one from before).
    listed = client.http.get("/tasks", headers=headers).json_body["tasks"]
    assert [t["description"] for t in listed] == ["before the outage"]
    assert [i["item_id"] for i in client.http.get("/items", headers=headers).json_body["items"]] == [item_id]
    with wiring.pages_engine().connect() as conn:
        rows = conn.execute(select(activity_log.c.page, activity_log.c.action, activity_log.c.metadata)
                            .where(activity_log.c.user_id == user)).all()
    assert [tuple(r) for r in rows] == [("home", "view", {"marker": "before"})]


def test_database_cut_in_the_middle_of_a_page_miss(client, proxy: TcpProxy, user, monkeypatch, override_adapters) -> None:  # noqa: ANN001
    """The database goes while a miss is generating (the page claimed, Claude answering): the
    request answers 503, nothing half-written is served, and once the database is back the page
    is generated again as soon as the dead request's claim (PAGE_MISS_LEASE_SECONDS) runs out."""
    import time

    from tests.pages.conftest import fake_page

    class CutsTheDatabase:
        calls = 0

        def complete_json(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
            CutsTheDatabase.calls += 1
            if CutsTheDatabase.calls == 1:
                proxy.cut()  # after the claim, before the page is stored
            return fake_page(args[1])

    monkeypatch.setenv("PAGE_MISS_LEASE_SECONDS", "2")
    settings.reset()
    override_adapters(llm=CutsTheDatabase())
    headers = auth_headers(user)
    client.http.post("/activity", headers=headers, body=json.dumps({"page": "reports", "action": "view"}))

    during = client.http.get("/pages/reports", headers=headers)
    assert during.status_code == 503 and during.headers.get("Retry-After")
    assert json.loads(during.body)["error"]["code"] == "service_unavailable"

    proxy.restore()
    started = time.monotonic()
    after = client.http.get("/pages/reports", headers=headers)
    assert after.status_code == 200, after.body
    assert after.json_body["page_type"] == "reports" and after.json_body["source"] == "generated"
    assert time.monotonic() - started < 10  # the 2 s claim, not the generator's 240 s lease
    assert CutsTheDatabase.calls == 2
    assert client.http.get("/pages/reports", headers=headers).json_body["source"] == "cache"


def test_database_cut_while_the_agent_runs_keeps_its_answer(client, proxy: TcpProxy, user, monkeypatch, override_adapters) -> None:  # noqa: ANN001
    """The agent has run (and e-mailed vendors) when the database goes for a moment: the worker
    retries recording the outcome (TASK_RECORD_RETRY_SECONDS) and the task completes with the
    agent's answer, instead of waiting out its deadline as `error`; the agent ran once."""
    import threading

    from chalicelib.providers.offline import OfflineAgent

    runs = []

    class CutsTheDatabase(OfflineAgent):
        def run(self, task_id: str, description: str, **kwargs):  # noqa: ANN003, ANN201
            runs.append(task_id)
            result = super().run(task_id, description, **kwargs)  # e-mails three vendors
            proxy.cut()
            threading.Timer(1.5, proxy.restore).start()  # back while the worker is retrying
            return result

    monkeypatch.setenv("TASK_RECORD_RETRY_SECONDS", "20")
    settings.reset()
    override_adapters(agent=CutsTheDatabase())
    headers = auth_headers(user)
    created = client.http.post("/tasks", headers=headers,
                               body=json.dumps({"description": "Find a landscaper in Charlotte"}))
    assert created.status_code == 202
    wiring.local_runtime().drain(timeout=30)
    task = client.http.get(f"/tasks/{created.json_body['id']}", headers=headers).json_body
    assert task["status"] == "completed" and task["emails_sent"] == 3, task
    assert [e["message"] for e in task["events"]][-1] == "Agent completed task successfully"
    assert runs == [created.json_body["id"]]


def test_database_cut_while_the_tools_run_retries_the_task(client, proxy: TcpProxy, user, monkeypatch,  # noqa: ANN001
                                                           override_adapters) -> None:  # noqa: ANN001
    """The vendor directory is unreachable when the agent calls find_vendors: the run is a
    dependency outage (task back to pending, invocation retried), not a failed task; the retry
    e-mails each vendor once."""
    import threading

    from chalicelib.providers.offline import OfflineAgent
    from localdev.outbox import read_outbox

    runs = []

    class CutsBeforeTheTools(OfflineAgent):
        def run(self, task_id: str, description: str, **kwargs):  # noqa: ANN003, ANN201
            runs.append(task_id)
            if len(runs) == 1:
                proxy.cut()
                threading.Timer(1.5, proxy.restore).start()
            return super().run(task_id, description, **kwargs)

    monkeypatch.setenv("TASK_RECORD_RETRY_SECONDS", "20")
    settings.reset()
    wiring.vendor_directory()  # the sample is loaded before the cut
    override_adapters(agent=CutsBeforeTheTools())
    headers = auth_headers(user)
    created = client.http.post("/tasks", headers=headers,
                               body=json.dumps({"description": "Find a landscaper in Charlotte"}))
    wiring.local_runtime().drain(timeout=60)
    task = client.http.get(f"/tasks/{created.json_body['id']}", headers=headers).json_body
    assert task["status"] == "completed" and task["emails_sent"] == 3, task
    assert any(e["type"] == "warning" and "will retry" in e["message"] for e in task["events"])
    assert len(runs) == 2
    assert len(read_outbox(settings.get_settings().local_data_dir / "outbox")) == 3
