"""GET /pages/{type} on a miss: waiters learn at once when the generation they wait for fails,
a request takes over a job whose claimant died or that waits out a retry delay, and an LLM
outage is a 503 through the API (real anthropic SDK against the fake server)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from chalicelib import errors, wiring
from chalicelib.pages.model import GeneratedPage, cache_key
from chalicelib.pages.repository import PagesRepository
from chalicelib.pages.tables import generation_queue
from chalicelib.providers.base import ProviderUnavailable
from chalicelib.timeutil import utcnow_naive
from tests.conftest import auth_headers
from tests.fakes import anthropic_server as fake
from tests.fakes.server import FakeServer


def test_waiters_get_503_as_soon_as_the_generation_they_wait_for_fails(service, llm) -> None:  # noqa: ANN001
    service.miss_wait_seconds = 30
    llm.delay, llm.fail_with = 0.3, ProviderUnavailable("Claude unavailable: HTTP 529")
    user, outcomes, barrier = f"u-{uuid.uuid4().hex[:8]}", [], threading.Barrier(4)

    def get() -> None:
        barrier.wait()
        try:
            service.get_page(user, "inbox")
        except (ProviderUnavailable, errors.Unavailable) as exc:
            outcomes.append(type(exc).__name__)

    started = time.monotonic()
    threads = [threading.Thread(target=get) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - started < 10  # not the 30 s wait: the failure ends every wait
    assert sorted(outcomes) == ["ProviderUnavailable"] + ["Unavailable"] * 3
    assert llm.per_page["inbox"] == 1


def test_a_request_takes_over_a_job_whose_claimant_died(service, engine, llm) -> None:  # noqa: ANN001
    user = f"u-{uuid.uuid4().hex[:8]}"
    assert PagesRepository(engine).enqueue(user, "inbox", 0.6, {"kind": "test"})
    dead = PagesRepository(engine).claim_next("dead-run", timedelta(seconds=60))
    with engine.begin() as c:
        c.execute(update(generation_queue).where(generation_queue.c.id == dead.id)
                  .values(lease_expires_at=utcnow_naive() - timedelta(seconds=1)))
    page = service.get_page(user, "inbox")
    assert page["source"] == "generated" and llm.per_page["inbox"] == 1
    assert PagesRepository(engine).complete(dead, "dead-run", GeneratedPage(components={}, provider_used="x",
                                                                            model_used="x")) is False


def test_a_request_does_not_wait_out_a_queued_jobs_retry_delay(service, engine, llm) -> None:  # noqa: ANN001
    user = f"u-{uuid.uuid4().hex[:8]}"
    assert PagesRepository(engine).enqueue(user, "inbox", 0.6, {"kind": "test"})
    with engine.begin() as c:  # failed once in the background: requeued for 60 s from now
        c.execute(update(generation_queue).where(generation_queue.c.user_id == user)
                  .values(attempts=1, lease_expires_at=utcnow_naive() + timedelta(seconds=60)))
    started = time.monotonic()
    assert service.get_page(user, "inbox")["source"] == "generated"
    assert time.monotonic() - started < service.miss_wait_seconds


@pytest.mark.parametrize("status", [529, 500])
def test_llm_outage_on_a_miss_is_503_and_nothing_is_cached(client, user, monkeypatch, status) -> None:  # noqa: ANN001
    from chalicelib import settings

    with FakeServer(default=lambda *_: fake.error(status, "overloaded_error")) as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        settings.reset()
        client.http.post("/activity", headers=auth_headers(user), body='{"page": "home", "action": "view"}')
        response = client.http.get("/pages/home", headers=auth_headers(user))
    assert response.status_code == 503, response.body
    assert response.json_body["error"]["code"] == "service_unavailable" and "Retry-After" in response.headers
    assert server.requests  # the SDK really called the fake
    assert PagesRepository(wiring.pages_engine()).fresh_page(cache_key(user, "home")) is None
