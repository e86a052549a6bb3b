"""End to end through LocalRuntime with a small Chalice app defined here."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from chalice import Chalice, Rate

from localdev.blobs import LocalBlobStore
from localdev.queue import DeliveryQueue
from localdev.runtime import LocalRuntime
from localdev.schedules import parse_schedule

app = Chalice(app_name="runtime-test")
calls: list[tuple[str, Any]] = []
lock = threading.Lock()
fail_times: dict[str, int] = {}


def record(name: str, value: Any) -> None:
    with lock:
        calls.append((name, value))


@app.on_s3_event(bucket="images", events=["s3:ObjectCreated:*"], prefix="uploads/")
def on_upload(event: Any) -> None:
    record("on_upload", (event.bucket, event.key))


@app.on_s3_event(bucket="images", suffix=".txt")
def on_text(event: Any) -> None:
    record("on_text", event.key)


@app.on_cw_event({"source": ["collections"], "detail-type": ["ImageUploaded"], "detail": {"size": [{"numeric": [">", 100]}]}})
def on_big_image(event: Any) -> None:
    record("on_big_image", event.detail)


@app.on_cw_event({"source": ["collections"], "detail": {"state": [{"prefix": "ana"}]}})
def on_analysis(event: Any) -> None:
    record("on_analysis", event.detail)


@app.schedule(Rate(5, unit=Rate.MINUTES))
def every_five(event: Any) -> None:
    record("every_five", event.detail_type)


@app.schedule("cron(0 12 ? * MON-FRI *)", name="noon")
def weekday_noon(event: Any) -> None:
    record("noon", event.resources)


@app.lambda_function(name="worker")
def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    record("worker", (event, context.function_name, context.get_remaining_time_in_millis() > 0))
    if event.get("fail"):
        raise RuntimeError(f"worker failed on purpose: {event['fail']}")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"ok": event.get("n")}


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    calls.clear()


@pytest.fixture
def queue(tmp_path: Path) -> DeliveryQueue:
    return DeliveryQueue(tmp_path / "runtime.sqlite3", backoff=(0.0, 0.0))


@pytest.fixture
def runtime(queue: DeliveryQueue) -> LocalRuntime:
    return LocalRuntime(app, queue)


def names() -> list[str]:
    return [c[0] for c in calls]


def test_discovers_handlers(runtime: LocalRuntime) -> None:
    assert [h.name for h in runtime.s3_handlers] == ["on_upload", "on_text"]
    assert [h.name for h in runtime.cw_handlers] == ["on_big_image", "on_analysis"]
    assert set(runtime.schedules) == {"every_five", "noon"}
    assert runtime.schedules["every_five"].expression == "rate(5 minutes)"
    assert runtime.schedules["noon"].rule_name == "runtime-test-local-noon"
    assert list(runtime.lambda_functions) == ["worker"]


@pytest.mark.parametrize("key", ["uploads/user 1/a+b ü:x%20y (ß).jpg", "uploads/plain.jpg"])
def test_blob_put_reaches_s3_handler_with_original_key(tmp_path: Path, runtime: LocalRuntime, key: str) -> None:
    store = LocalBlobStore(tmp_path / "blobs", notify=runtime.on_object_created)
    store.put("images", key, b"jpeg bytes", "image/jpeg")
    store.put("other-bucket", key, b"x")
    assert runtime.drain() == 1
    assert calls == [("on_upload", ("images", key))]


def test_s3_prefix_and_suffix_filters(runtime: LocalRuntime) -> None:
    assert runtime.on_object_created("images", "elsewhere/a.jpg", 1, "e") == []
    assert len(runtime.on_object_created("images", "uploads/notes.txt", 1, "e")) == 2
    assert runtime.on_object_created("images", "uploads/x", 1, "e", event_name="ObjectRemoved:Delete") == []
    runtime.drain()
    assert sorted(names()) == ["on_text", "on_upload"]


def test_put_events_only_matching_handlers(runtime: LocalRuntime) -> None:
    result = runtime.put_events(
        [
            {"Source": "collections", "DetailType": "ImageUploaded", "Detail": '{"size": 500}'},
            {"Source": "collections", "DetailType": "ImageUploaded", "Detail": '{"size": 50}'},
            {"Source": "collections", "DetailType": "Other", "Detail": '{"state": "analyzed"}'},
            {"Source": "elsewhere", "DetailType": "ImageUploaded", "Detail": '{"size": 500, "state": "analyzed"}'},
            {"Source": "collections", "DetailType": "ImageUploaded", "Detail": '{"size": 500}', "EventBusName": "custom"},
            {"Source": "collections", "DetailType": "ImageUploaded", "Detail": "not json"},
            {"Source": "collections", "Detail": "{}"},
        ]
    )
    assert result["FailedEntryCount"] == 2
    assert all("EventId" in e for e in result["Entries"][:5])
    assert result["Entries"][5]["ErrorCode"] == "MalformedDetail"
    assert result["Entries"][6]["ErrorCode"] == "InvalidArgument"
    assert runtime.drain() == 2
    assert sorted(calls, key=str) == [("on_analysis", {"state": "analyzed"}), ("on_big_image", {"size": 500})]


def test_put_event_port_shape(runtime: LocalRuntime) -> None:
    event_id = runtime.put_event("collections", "ImageUploaded", {"size": 1000})
    assert event_id
    runtime.drain()
    assert calls == [("on_big_image", {"size": 1000})]


def test_invoke_sync_and_async(runtime: LocalRuntime) -> None:
    assert runtime.invoke("worker", {"n": 1}) == {"ok": 1}
    assert calls[0][1] == ({"n": 1}, "runtime-test-local-worker", True)
    with pytest.raises(RuntimeError, match="on purpose"):
        runtime.invoke("worker", {"fail": "sync"})
    with pytest.raises(ValueError, match="worker"):
        runtime.invoke_async("nope", {})
    calls.clear()
    delivery_id = runtime.invoke_async("arn:aws:lambda:us-east-1:1:function:runtime-test-local-worker", {"n": 2})
    assert calls == []  # queued, not run
    stop = threading.Event()
    thread = threading.Thread(target=runtime.run_forever, args=(stop,))
    runtime.poll_interval = 0.01
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while runtime.queue.get(delivery_id).status != "succeeded" and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(5)
    assert runtime.queue.get(delivery_id).status == "succeeded"
    assert calls[0][1][0] == {"n": 2}


def test_slow_handler_does_not_block_others(queue: DeliveryQueue) -> None:
    runtime = LocalRuntime(app, queue, workers=3, poll_interval=0.01)
    slow = runtime.invoke_async("worker", {"sleep": 1.0, "n": "slow"})
    fast = [runtime.invoke_async("worker", {"n": i}) for i in range(3)]
    stop = threading.Event()
    thread = threading.Thread(target=runtime.run_forever, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 0.8
        while time.monotonic() < deadline and any(queue.get(f).status != "succeeded" for f in fast):
            time.sleep(0.01)
        assert all(queue.get(f).status == "succeeded" for f in fast)
        assert queue.get(slow).status == "running"
    finally:
        stop.set()
        thread.join(5)
    assert queue.get(slow).status == "succeeded"  # in-flight work finishes before stop returns


def test_failing_handler_retried_then_failed(runtime: LocalRuntime, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="localdev.runtime")
    delivery_id = runtime.invoke_async("worker", {"fail": "always"})
    assert runtime.drain() == 3
    assert names() == ["worker"] * 3
    failed = runtime.queue.failed_deliveries()
    assert [d.id for d in failed] == [delivery_id]
    assert failed[0].attempts == 3
    assert "RuntimeError: worker failed on purpose: always" in failed[0].last_error
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("delivery ")]
    assert len(lines) == 3
    assert "attempt=1/3" in lines[0] and "outcome=retry" in lines[0] and "RuntimeError" in lines[0]
    assert "attempt=3/3" in lines[2] and "outcome=failed" in lines[2]
    records = [r for r in caplog.records if r.getMessage().startswith("delivery ")]
    # The same figures as keys of the record, so the JSON log line carries them as fields.
    assert [(r.handler, r.kind, r.delivery_id, r.attempt, r.outcome) for r in records] == [
        ("worker", "invoke", delivery_id, 1, "retry"), ("worker", "invoke", delivery_id, 2, "retry"),
        ("worker", "invoke", delivery_id, 3, "failed")]
    assert all(r.error == "RuntimeError" and r.duration_ms >= 0 for r in records)


def test_restart_keeps_queued_and_failed(tmp_path: Path) -> None:
    path = tmp_path / "runtime.sqlite3"
    first = LocalRuntime(app, DeliveryQueue(path, backoff=(0.0,)))
    failing = first.invoke_async("worker", {"fail": "x"})
    first.drain()
    queued = first.invoke_async("worker", {"n": 7})
    del first
    second = LocalRuntime(app, DeliveryQueue(path, backoff=(0.0,)))
    assert [d.id for d in second.queue.failed_deliveries()] == [failing]
    assert second.queue.get(queued).status == "queued"
    calls.clear()
    assert second.drain() == 1
    assert calls[0][1][0] == {"n": 7}
    second.queue.retry(failing)
    assert second.queue.get(failing).status == "queued"


def test_two_runtimes_deliver_each_row_once(tmp_path: Path) -> None:
    path = tmp_path / "runtime.sqlite3"
    one = LocalRuntime(app, DeliveryQueue(path))
    two = LocalRuntime(app, DeliveryQueue(path))
    ids = [one.invoke_async("worker", {"n": i}) for i in range(60)]
    threads = [threading.Thread(target=rt.drain) for rt in (one, two, one, two)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    delivered = sorted(c[1][0]["n"] for c in calls)
    assert delivered == list(range(60))
    assert {one.queue.get(i).status for i in ids} == {"succeeded"}


def ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_rate_and_cron_next_fire() -> None:
    rate = parse_schedule(Rate(5, unit=Rate.MINUTES))
    assert rate.next_after(ts(2025, 1, 1)) == ts(2025, 1, 1, 0, 5)
    assert parse_schedule("rate(1 hour)").interval == 3600
    assert parse_schedule("rate(2 days)").interval == 2 * 86400
    noon = parse_schedule("cron(0 12 * * ? *)")
    assert noon.next_after(ts(2025, 1, 1)) == ts(2025, 1, 1, 12)
    assert noon.next_after(ts(2025, 1, 1, 12)) == ts(2025, 1, 2, 12)
    # 2025-01-04 is a Saturday; AWS day-of-week 2-6 = MON-FRI
    assert parse_schedule("cron(0 12 ? * 2-6 *)").next_after(ts(2025, 1, 4)) == ts(2025, 1, 6, 12)
    assert parse_schedule("cron(0 12 ? * MON-FRI *)").next_after(ts(2025, 1, 4)) == ts(2025, 1, 6, 12)
    assert parse_schedule("cron(30 8 ? * 1 *)").next_after(ts(2025, 1, 1)) == ts(2025, 1, 5, 8, 30)  # SUN
    assert parse_schedule("cron(0 12 ? * 6L *)").next_after(ts(2025, 1, 1)) == ts(2025, 1, 31, 12)  # last FRI
    assert parse_schedule("cron(0 12 ? * 2#1 *)").next_after(ts(2025, 1, 1)) == ts(2025, 1, 6, 12)  # first MON
    assert parse_schedule("cron(0/15 * * * ? 2026)").next_after(ts(2025, 6, 1)) == ts(2026, 1, 1)
    assert parse_schedule("cron(0 0 1 1 ? 2020)").next_after(ts(2025, 1, 1)) is None
    assert parse_schedule("cron(0 12 L * ? *)").next_after(ts(2025, 2, 1)) == ts(2025, 2, 28, 12)
    for bad in ["rate(0 minutes)", "rate(5 weeks)", "cron(0 12 * * *)", "cron(0 12 ? * 8 *)", "every day"]:
        with pytest.raises(ValueError):
            parse_schedule(bad)


def test_latest_due_collapses_missed_fires() -> None:
    rate = parse_schedule("rate(5 minutes)")
    assert rate.latest_due(ts(2025, 1, 1), ts(2025, 1, 1, 0, 4)) is None
    assert rate.latest_due(ts(2025, 1, 1), ts(2025, 1, 1, 0, 17)) == ts(2025, 1, 1, 0, 15)
    noon = parse_schedule("cron(0 12 ? * MON-FRI *)")
    assert noon.latest_due(ts(2025, 1, 3, 13), ts(2025, 1, 5)) is None  # weekend
    assert noon.latest_due(ts(2025, 1, 1), ts(2025, 1, 3, 18)) == ts(2025, 1, 3, 12)


def test_schedules_fire_on_cadence_and_survive_restart(tmp_path: Path) -> None:
    path = tmp_path / "runtime.sqlite3"
    start = ts(2025, 1, 6, 11, 58)  # a Monday
    rt = LocalRuntime(app, DeliveryQueue(path))
    assert rt.tick_schedules(start) == []  # first sight records a baseline; nothing fires at once
    assert rt.next_fire_at("every_five") == start + 300
    assert rt.next_fire_at("noon") == ts(2025, 1, 6, 12)
    assert len(rt.tick_schedules(ts(2025, 1, 6, 12, 0, 30))) == 1  # noon
    assert rt.tick_schedules(ts(2025, 1, 6, 12, 0, 40)) == []  # no double fire
    restarted = LocalRuntime(app, DeliveryQueue(path))
    assert restarted.tick_schedules(ts(2025, 1, 6, 12, 0, 50)) == []
    # the runtime was down for an hour: one catch-up fire of every_five, not twelve
    assert len(restarted.tick_schedules(ts(2025, 1, 6, 13, 0, 0))) == 1
    assert restarted.next_fire_at("every_five") == ts(2025, 1, 6, 13, 3)
    restarted.drain()
    assert sorted(names()) == ["every_five", "noon"]
    assert ("every_five", "Scheduled Event") in calls
    assert ("noon", ["arn:aws:events:us-east-1:123456789012:rule/runtime-test-local-noon"]) in calls


def test_fire_now(runtime: LocalRuntime) -> None:
    delivery_id = runtime.fire("noon")
    assert runtime.queue.get(delivery_id).kind == "schedule"
    runtime.drain()
    assert names() == ["noon"]
    with pytest.raises(ValueError, match="every_five"):
        runtime.fire("missing")


def test_handler_found_through_module_attribute(queue: DeliveryQueue) -> None:
    """Without handler_map (older apps / blueprints), the module attribute is used."""
    import sys

    saved = dict(app.handler_map)
    app.handler_map.clear()
    try:
        with pytest.raises(LookupError, match="cannot find app.on_upload"):
            LocalRuntime(app, queue)  # handler_string is "app.on_upload"; no module "app" here
        runtime = LocalRuntime(app, queue, module=sys.modules[__name__])
        assert runtime._resolve("worker") is worker
        assert runtime._resolve("on_upload") is on_upload
    finally:
        app.handler_map.update(saved)
