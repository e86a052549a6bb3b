"""The durable SQLite delivery queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from localdev.queue import DeliveryQueue, failed_deliveries


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_enqueue_claim_succeed(tmp_path: Path) -> None:
    q = DeliveryQueue(tmp_path / "q.sqlite3")
    did = q.enqueue("event", "handler", {"a": 1})
    d = q.claim()
    assert d is not None and d.id == did and d.attempts == 1 and d.status == "running"
    assert d.payload == {"a": 1}
    assert q.claim() is None
    assert q.succeed(d)
    assert q.get(did).status == "succeeded"


def test_retry_backoff_then_failed(tmp_path: Path) -> None:
    clock = Clock()
    q = DeliveryQueue(tmp_path / "q.sqlite3", backoff=(1.0, 2.0), clock=clock)
    did = q.enqueue("invoke", "h", {})
    d = q.claim()
    assert q.fail(d, "boom 1") == "queued"
    assert q.claim() is None  # backoff 1 s
    clock.now += 1.0
    d = q.claim()
    assert d.attempts == 2
    assert q.fail(d, "boom 2") == "queued"
    clock.now += 1.5
    assert q.claim() is None  # backoff 2 s
    clock.now += 0.5
    d = q.claim()
    assert d.attempts == 3
    assert q.fail(d, "boom 3") == "failed"
    failed = q.failed_deliveries()
    assert [f.id for f in failed] == [did]
    assert failed[0].last_error == "boom 3" and failed[0].attempts == 3
    assert [f.id for f in failed_deliveries(tmp_path / "q.sqlite3")] == [did]
    # requeue by hand
    q.retry(did)
    d = q.claim()
    assert d.id == did and d.attempts == 1


def test_retry_only_failed(tmp_path: Path) -> None:
    q = DeliveryQueue(tmp_path / "q.sqlite3")
    did = q.enqueue("s3", "h", {})
    with pytest.raises(ValueError, match="queued"):
        q.retry(did)
    with pytest.raises(KeyError):
        q.retry("nope")


def test_expired_lease_is_reclaimed(tmp_path: Path) -> None:
    clock = Clock()
    q = DeliveryQueue(tmp_path / "q.sqlite3", lease_seconds=10, clock=clock)
    did = q.enqueue("event", "h", {})
    stale = q.claim()
    assert q.claim() is None
    clock.now += 11
    again = q.claim()
    assert again is not None and again.id == did and again.attempts == 2
    assert "lease expired" in (again.last_error or "")
    # the crashed worker's late report is ignored
    assert not q.succeed(stale)
    assert q.fail(stale, "late") == "lost"
    assert q.succeed(again)


def test_expired_lease_on_last_attempt_fails(tmp_path: Path) -> None:
    clock = Clock()
    q = DeliveryQueue(tmp_path / "q.sqlite3", lease_seconds=10, max_attempts=1, clock=clock)
    did = q.enqueue("event", "h", {})
    q.claim()
    clock.now += 11
    assert q.claim() is None
    assert q.get(did).status == "failed"


def test_state_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    q = DeliveryQueue(path, max_attempts=1)
    queued = q.enqueue("event", "h", {"x": 1})
    failing = q.enqueue("event", "h", {"x": 2})
    d = q.claim()
    assert d.id == queued
    q.fail(d, "nope")
    q2 = DeliveryQueue(path)
    assert q2.counts() == {"queued": 1, "running": 0, "succeeded": 0, "failed": 1}
    assert q2.get(failing).status == "queued"


def test_schedule_cas(tmp_path: Path) -> None:
    q = DeliveryQueue(tmp_path / "q.sqlite3")
    assert q.schedule_last_fire("s") is None
    assert q.init_schedule("s", 100.0) == 100.0
    assert q.init_schedule("s", 200.0) == 100.0
    assert q.advance_schedule("s", 100.0, 160.0, {"p": 1}) is not None
    assert q.advance_schedule("s", 100.0, 160.0, {"p": 1}) is None  # someone else won
    assert q.schedule_last_fire("s") == 160.0
    assert q.counts()["queued"] == 1


def test_bad_kind_and_status(tmp_path: Path) -> None:
    q = DeliveryQueue(tmp_path / "q.sqlite3")
    with pytest.raises(ValueError, match="kind"):
        q.enqueue("sqs", "h", {})
    with pytest.raises(ValueError, match="status"):
        q.list("done")
