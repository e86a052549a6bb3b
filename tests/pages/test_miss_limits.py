"""A page miss generates only for a page type the detector knows for the user (or one listed in
PAGE_TYPES); others are 404. Each user has PAGE_MISSES_PER_MINUTE misses a minute, counted in
the database (so every API container shares it); past it, 429 with Retry-After."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import timedelta

from chalicelib import settings
from chalicelib.pages.repository import PagesRepository
from chalicelib.timeutil import utcnow_naive
from tests.conftest import auth_headers


def visit(client, user: str, *pages: str) -> None:  # noqa: ANN001
    body = {"events": [{"page": page, "action": "view"} for page in pages]}
    assert client.http.post("/activity", headers=auth_headers(user), body=json.dumps(body)).status_code == 202


def test_only_page_types_the_detector_knows_are_generated(client, user) -> None:  # noqa: ANN001
    visit(client, user, "Billing/Invoices")  # the detector reads it as "billing-invoices"
    invented = client.http.get("/pages/anything-at-all", headers=auth_headers(user))
    assert invented.status_code == 404 and invented.json_body["error"]["field"] == "page_type"
    page = client.http.get("/pages/billing-invoices", headers=auth_headers(user))
    assert page.status_code == 200 and page.json_body["source"] == "generated"
    # Another user has not opened it: for them it is unknown.
    assert client.http.get("/pages/billing-invoices", headers=auth_headers(f"other-{user}")).status_code == 404


def test_a_detector_prediction_is_known_without_a_visit(client, user) -> None:  # noqa: ANN001
    from chalicelib import wiring

    PagesRepository(wiring.pages_engine()).enqueue(user, "weekly-report", 0.7, {"kind": "bedrock"})
    assert client.http.get("/pages/weekly-report", headers=auth_headers(user)).status_code == 200


def test_a_configured_list_replaces_what_the_detector_knows(client, user, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("PAGE_TYPES", "home,Settings")
    settings.reset()
    visit(client, user, "reports")
    assert client.http.get("/pages/reports", headers=auth_headers(user)).status_code == 404
    assert client.http.get("/pages/home", headers=auth_headers(user)).status_code == 200  # no visit needed
    assert client.http.get("/pages/settings", headers=auth_headers(user)).status_code == 200


def test_misses_past_the_limit_are_429_with_retry_after(client, user, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("PAGE_MISSES_PER_MINUTE", "3")
    settings.reset()
    pages = ["p1", "p2", "p3", "p4"]
    visit(client, user, *pages)
    second = utcnow_naive().second
    if second >= 50:  # keep the four misses inside one counting minute
        time.sleep(60.5 - second)
    assert [client.http.get(f"/pages/{p}", headers=auth_headers(user)).status_code for p in pages[:3]] == [200] * 3
    limited = client.http.get("/pages/p4", headers=auth_headers(user))
    assert limited.status_code == 429, limited.body
    assert limited.json_body["error"]["code"] == "too_many_requests"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert client.http.get("/pages/p1", headers=auth_headers(user)).json_body["source"] == "cache"  # hits are free
    assert client.http.get("/pages/p4", headers=auth_headers(f"{user}-b")).status_code == 404  # unknown first
    visit(client, f"{user}-b", "p4")
    assert client.http.get("/pages/p4", headers=auth_headers(f"{user}-b")).status_code == 200  # per user


def test_the_limit_holds_across_concurrent_containers(engine) -> None:  # noqa: ANN001
    """Eight requests at once (as if in eight containers, each with its own connection): exactly
    the limit pass, whatever the interleaving; the next minute starts afresh."""
    user, allowed, barrier = f"u-{uuid.uuid4().hex[:8]}", [], threading.Barrier(8)
    now = utcnow_naive().replace(second=10)

    def miss() -> None:
        barrier.wait()
        allowed.append(PagesRepository(engine).take_miss(user, 5, now=now))

    threads = [threading.Thread(target=miss) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(allowed) == [0] * 5 + [50] * 3  # 50 s until the minute ends
    assert PagesRepository(engine).take_miss(user, 5, now=now + timedelta(minutes=1)) == 0
