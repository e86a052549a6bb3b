"""The generator's claims: exactly once under overlap, leases, stale runs, failures."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

from sqlalchemy import select, update

from chalicelib.pages.model import GeneratedPage
from chalicelib.pages.repository import PagesRepository
from chalicelib.pages.tables import generation_queue, page_cache
from chalicelib.providers.base import ProviderOutputError
from chalicelib.timeutil import utcnow_naive
from tests.pages.conftest import RecordingLLM


def queue_jobs(engine, n: int, user: str | None = None) -> str:  # noqa: ANN001
    user = user or f"u-{uuid.uuid4().hex[:8]}"
    for i in range(n):
        assert PagesRepository(engine).enqueue(user, f"page-{i}", 0.7, {"kind": "test"})
    return user


def jobs_of(engine, user: str) -> list[dict]:  # noqa: ANN001
    with engine.connect() as c:
        return [dict(r._mapping) for r in c.execute(select(generation_queue).where(generation_queue.c.user_id == user))]


def test_two_overlapping_runs_process_every_job_exactly_once(service, engine, llm) -> None:  # noqa: ANN001
    user = queue_jobs(engine, 100)
    llm.delay = 0.005
    results = []
    threads = [threading.Thread(target=lambda: results.append(service.generate())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["pages_generated"] for r in results) == 100
    assert all(r["success"] and r["errors"] == 0 for r in results)
    assert set(llm.per_page.values()) == {1} and len(llm.per_page) == 100
    assert {j["status"] for j in jobs_of(engine, user)} == {"completed"}
    assert len(PagesRepository(engine).fresh_pages(user)) == 100


def test_duplicate_keys_are_not_queued_twice_nor_when_fresh(service, engine) -> None:  # noqa: ANN001
    user = f"u-{uuid.uuid4().hex[:8]}"
    assert PagesRepository(engine).enqueue(user, "home", 0.5, {})
    assert not PagesRepository(engine).enqueue(user, "home", 0.9, {})
    service.generate()
    assert not PagesRepository(engine).enqueue(user, "home", 0.9, {})  # a fresh cache entry exists


def test_killed_run_is_reclaimed_after_its_lease_and_the_stale_run_changes_nothing(service, engine, llm) -> None:  # noqa: ANN001
    user = queue_jobs(engine, 1)
    stale_token = "stale-" + uuid.uuid4().hex[:8]
    job = PagesRepository(engine).claim_next(stale_token, timedelta(seconds=60))
    assert job.user_id == user
    assert service.generate()["jobs_processed"] == 0  # leased: nobody else takes it
    with engine.begin() as c:  # the lease runs out (the run was killed)
        c.execute(update(generation_queue).where(generation_queue.c.id == job.id)
                  .values(lease_expires_at=utcnow_naive() - timedelta(seconds=1)))
    assert service.generate()["pages_generated"] == 1
    page = GeneratedPage(components={"title": "STALE", "components": [{"type": "tip", "title": "x"}]},
                         relevance_score=0.1, provider_used="stale", model_used="stale")
    assert PagesRepository(engine).complete(job, stale_token, page) is False
    assert PagesRepository(engine).fail(job, stale_token, "late") is None
    with engine.connect() as c:
        row = c.execute(select(page_cache).where(page_cache.c.user_id == user)).one()
    assert row.provider_used == "fake" and row.components["title"] != "STALE"


def test_failures_requeue_then_fail_at_three_attempts_and_others_go_on(service, engine, llm) -> None:  # noqa: ANN001
    user = queue_jobs(engine, 1)
    llm.fail_with = ProviderOutputError("cut at max_tokens")
    for expected in ("queued", "queued", "failed"):
        result = service.generate()
        assert result["errors"] == 1 and result["pages_generated"] == 0
        (job,) = jobs_of(engine, user)
        assert job["status"] == expected and "max_tokens" in job["last_error"]
        assert service.generate()["jobs_processed"] == 0  # a requeued job waits for its retry delay
        with engine.begin() as c:
            c.execute(update(generation_queue).where(generation_queue.c.id == job["id"], generation_queue.c.status == "queued")
                      .values(lease_expires_at=utcnow_naive() - timedelta(seconds=1)))
    assert jobs_of(engine, user)[0]["attempts"] == 3
    assert service.generate()["jobs_processed"] == 0
    assert PagesRepository(engine).fresh_pages(user) == []  # no partial cache row


def test_generator_stops_claiming_before_the_deadline(service, engine) -> None:  # noqa: ANN001
    user = queue_jobs(engine, 5)
    result = service.generate(remaining_ms=lambda: 10_000)  # below the 30 s margin
    assert result["jobs_processed"] == 0
    assert {j["status"] for j in jobs_of(engine, user)} == {"queued"}


class GatedLLM(RecordingLLM):
    """Counts calls in flight; each call first waits (bounded) for ``gate`` to open."""

    def __init__(self, gate_at_active: int) -> None:
        super().__init__()
        self.gate_at_active = gate_at_active
        self.active = self.max_active = 0
        self.gate = threading.Event()
        self.gate_timed_out = False

    def complete_json(self, system: str, prompt: str, schema: dict, **kwargs):  # noqa: ANN003, ANN201
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            if self.active >= self.gate_at_active:
                self.gate.set()
        try:
            if not self.gate.wait(timeout=10):
                self.gate_timed_out = True
            return super().complete_json(system, prompt, schema, **kwargs)
        finally:
            with self._lock:
                self.active -= 1


def test_a_run_keeps_concurrency_jobs_in_flight_and_never_more(engine) -> None:  # noqa: ANN001
    from chalicelib.pages.service import PagesService

    user = queue_jobs(engine, 40)
    llm = GatedLLM(gate_at_active=8)  # nobody returns until 8 generations run at once
    result = PagesService(PagesRepository(engine), lambda: llm, concurrency=8).generate()
    assert result["pages_generated"] == 40 and not llm.gate_timed_out
    assert llm.max_active == 8
    assert len(PagesRepository(engine).fresh_pages(user)) == 40


def test_a_slow_job_does_not_hold_up_the_others(engine) -> None:  # noqa: ANN001
    """The first job's generation returns only after the other 19 finished: a run that waited
    for whole batches would stall here; ours claims the next job whenever a worker frees up."""
    from chalicelib.pages.service import PagesService

    queue_jobs(engine, 20)
    done, first_released = threading.Semaphore(0), threading.Event()
    calls, lock = [], threading.Lock()

    class OneSlowLLM(RecordingLLM):
        def complete_json(self, system: str, prompt: str, schema: dict, **kwargs):  # noqa: ANN003, ANN201
            with lock:
                calls.append(prompt)
                first = len(calls) == 1
            if first:
                deadline = time.monotonic() + 10
                if all(done.acquire(timeout=max(0.0, deadline - time.monotonic())) for _ in range(19)):
                    first_released.set()
            result = super().complete_json(system, prompt, schema, **kwargs)
            if not first:
                done.release()
            return result

    result = PagesService(PagesRepository(engine), lambda: OneSlowLLM(), concurrency=4).generate()
    assert result["pages_generated"] == 20
    assert first_released.is_set()
