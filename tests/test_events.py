"""Each event type is one dataclass: what it writes is what it reads back."""

from __future__ import annotations

import pytest

from chalicelib.collections.events import AnalysisComplete, ImageProcessed, publish
from chalicelib.tasks.model import Task, WorkerPayload


class Bus:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict]] = []

    def put_event(self, source: str, detail_type: str, detail: dict) -> str:
        self.sent.append((source, detail_type, dict(detail)))
        return "id-1"


def test_image_processed_round_trips_through_the_bus() -> None:
    bus = Bus()
    event = ImageProcessed("i1", "u1", "b", "originals/u1/i1.jpg", "thumbnails/u1/i1.jpg", "upload:i1:abc",
                           started_at="2026-01-01T00:00:00+00:00")
    assert publish(bus, event) == "id-1"
    ((source, detail_type, detail),) = bus.sent
    assert (source, detail_type) == ("collections.imageprocessor", "ImageProcessed")
    assert ImageProcessed.parse({**detail, "trace_id": "t"}) == event


def test_a_resend_carries_no_start_time_and_an_old_event_gets_a_request_id() -> None:
    event = ImageProcessed("i1", "u1", "b", "o", "t", "r")
    assert "started_at" not in event.to_detail()
    parsed = ImageProcessed.parse({"item_id": "i1", "user_id": "u1", "started_at": 5}, event_id="e9")
    assert parsed.request_id == "event:e9" and parsed.started_at is None and parsed.bucket == ""


def test_analysis_complete_round_trips() -> None:
    bus = Bus()
    publish(bus, AnalysisComplete("i1", "a1", "u1"))
    ((source, detail_type, detail),) = bus.sent
    assert (source, detail_type, detail) == ("collections.analyzer", "AnalysisComplete",
                                             {"item_id": "i1", "analysis_id": "a1", "user_id": "u1"})
    assert AnalysisComplete.parse(detail) == AnalysisComplete("i1", "a1", "u1")


def test_worker_payload_round_trips_and_rejects_junk() -> None:
    payload = WorkerPayload.for_task(Task(id="t1", owner="alice", description="d")).to_payload()
    assert payload == {"task_id": "t1", "user_id": "alice"}
    assert WorkerPayload.parse({**payload, "trace_id": "x"}) == WorkerPayload("t1", "alice")
    for junk in ({}, {"task_id": ""}, {"task_id": 3}, ["t1"], None):
        with pytest.raises(ValueError, match="task_id"):
            WorkerPayload.parse(junk)


def test_reinvocations_are_counted_by_a_field_the_api_never_shows() -> None:
    from chalicelib.tasks.model import event

    task = Task(id="t1", owner="alice", description="d", events=[
        event("Task created"),
        event("any wording at all", "warning", reinvocation=1),
        event("Worker did not start within 120 s; but not a re-invocation", "warning"),
    ])
    assert task.reinvocations == 1
    shown = task.to_api()["events"]
    assert [sorted(e) for e in shown] == [["message", "ts", "type"]] * 3
    assert task.events[1]["_reinvocation"] == 1  # stored with the task


def test_an_items_retry_reason_is_stored_bare_and_introduced_by_the_api() -> None:
    from chalicelib.collections.repository import MAX_ERROR_LENGTH, shown_error

    assert shown_error("processing", "analysis: Claude unavailable") == "will be retried: analysis: Claude unavailable"
    assert shown_error("failed", "image is too large") == "image is too large"
    assert shown_error("ready", None) is None
    assert len(shown_error("pending", "x" * MAX_ERROR_LENGTH)) == MAX_ERROR_LENGTH
