"""Items whose pipeline stalled: a provider outage that outlasts the event source's retries, or
a lost S3 notification / EventBridge event. The scheduled `item_sweeper` re-sends the step an
item is stuck at once it has been quiet for ITEM_RESEND_AFTER_SECONDS, at most ITEM_RESEND_MAX
times, and then marks it failed with the reason; no manual `make retry ID=` is needed.

Time passing is simulated by moving the item's own timestamps back (``quiet_for``); the session
database holds other tests' items, which the sweeper may handle too, so every assertion is
about this test's items."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from sqlalchemy import select, text

from chalicelib import settings, wiring
from chalicelib.collections.tables import items
from localdev.runtime import LambdaContext
from tests.collections import images
from tests.collections.conftest import counts, get_item, upload
from tests.fakes import anthropic_server as claude_fake
from tests.fakes.server import FakeServer
from tests.fakes.voyage_server import embeddings_handler

AFTER = 60  # ITEM_RESEND_AFTER_SECONDS in these tests
OVERLOADED = (529, {"type": "error", "error": {"type": "overloaded_error", "message": "overloaded"}})
VOYAGE_DOWN = (500, {"detail": "internal error"})


class LossyBus:
    """The edge: EventBridge PutEvents, which may accept an event and never deliver it."""

    def __init__(self, real: Any) -> None:
        self.real, self.lose = real, set()
        self.sent: list[tuple[str, Mapping[str, Any]]] = []

    def put_event(self, source: str, detail_type: str, detail: Mapping[str, Any]) -> str:
        self.sent.append((detail_type, dict(detail)))
        if detail_type in self.lose:
            return "lost-event"
        return self.real.put_event(source, detail_type, detail)

    def count(self, detail_type: str, item_id: str) -> int:
        return sum(1 for kind, detail in self.sent if kind == detail_type and detail.get("item_id") == item_id)


@pytest.fixture()
def stack(local_env, monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
          override_adapters) -> Iterator[tuple[FakeServer, FakeServer, LossyBus]]:  # noqa: ANN001
    """Fake Claude and Voyage behind the real SDKs, and an event bus that can lose events."""
    with FakeServer(default=claude_fake.schema_filling_handler) as claude, \
            FakeServer(default=embeddings_handler) as voyage:
        for name, value in {"ANTHROPIC_API_KEY": "sk-ant-sweeper-test", "ANTHROPIC_BASE_URL": claude.url,
                            "VOYAGE_API_KEY": "pa-sweeper-test", "VOYAGE_BASE_URL": voyage.url + "/v1",
                            "PROVIDER_TIMEOUT_SECONDS": "1", "PROVIDER_MAX_RETRIES": "0",
                            "ITEM_RESEND_AFTER_SECONDS": str(AFTER)}.items():
            monkeypatch.setenv(name, value)
        settings.reset()
        wiring.set_app(__import__("app").app)
        bus = LossyBus(wiring.event_bus())
        override_adapters(event_bus=bus)
        yield claude, voyage, bus


def quiet_for(*item_ids: str, seconds: int = AFTER + 60) -> None:
    """As if ``seconds`` had passed since the items last changed or were re-sent."""
    with wiring.engine().begin() as conn:
        conn.execute(text("UPDATE items SET updated_at = updated_at - make_interval(secs => :s), "
                          "resent_at = resent_at - make_interval(secs => :s) WHERE id = ANY(:ids)"),
                     {"s": seconds, "ids": list(item_ids)})


def row(item_id: str) -> dict[str, Any]:
    with wiring.engine().connect() as conn:
        return dict(conn.execute(select(items).where(items.c.id == item_id)).mappings().one())


def sweep(client) -> dict[str, Any]:  # noqa: ANN001
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                            detail={}, resources=[])
    return client.lambda_.invoke("item_sweeper", event).payload


def drain() -> None:
    wiring.local_runtime().drain(timeout=60)


def failed_deliveries(target: str) -> list[Any]:
    return [d for d in wiring.local_runtime().queue.list("failed") if d.target == target]


def assert_ready_once(client, user: str, item_id: str) -> None:  # noqa: ANN001
    item = get_item(client, user, item_id).json_body
    assert item["status"] == "ready" and item["error"] is None, item
    assert counts(item_id) == {"analyses": 1, "embeddings": 1}  # no step ran twice to completion


@pytest.mark.parametrize("provider", ["claude", "voyage"])
def test_an_outage_longer_than_the_retries_is_resent_after_it_ends(client, user, stack, provider: str) -> None:  # noqa: ANN001
    claude, voyage, bus = stack
    server, fault, step, target = ((claude, OVERLOADED, "analysis", "collections_analyzer") if provider == "claude"
                                   else (voyage, VOYAGE_DOWN, "embedding", "collections_embedder"))
    working = server.handler
    server.handler = lambda *_: fault
    item_id = upload(client, user, images.jpeg((640, 480), "red"))
    drain()
    item = get_item(client, user, item_id).json_body
    assert item["status"] == "processing" and item["error"].startswith(f"will be retried: {step}: "), item
    assert len(failed_deliveries(target)) == 1  # the event source gave up

    server.handler = working  # the outage ends; nobody runs `make retry`
    sweep(client)
    assert row(item_id)["resend_count"] == 0  # not quiet yet: its retries may still be on the way
    quiet_for(item_id)
    assert sweep(client)["resent_by_step"][step] >= 1
    assert row(item_id)["resend_step"] == step and row(item_id)["resend_count"] == 1
    drain()
    assert_ready_once(client, user, item_id)
    quiet_for(item_id)
    sweep(client)
    assert row(item_id)["resend_count"] == 1  # a ready item is left alone


@pytest.mark.parametrize("lost", ["ImageProcessed", "AnalysisComplete"])
def test_a_lost_event_is_resent_and_completes(client, user, stack, lost: str) -> None:  # noqa: ANN001
    _, _, bus = stack
    bus.lose.add(lost)
    item_id = upload(client, user, images.jpeg((640, 480), "blue"))
    drain()
    assert get_item(client, user, item_id).json_body["status"] == "processing"

    bus.lose.clear()
    quiet_for(item_id)
    sweep(client)
    assert bus.count(lost, item_id) == 2
    drain()
    assert_ready_once(client, user, item_id)


def test_a_lost_s3_notification_is_resent_and_completes(client, user, stack, override_adapters) -> None:  # noqa: ANN001
    from chalicelib.auth import signing_secret
    from localdev.blobs import LocalBlobStore

    local = settings.get_settings()  # the stage's blob store, but S3's ObjectCreated notification never comes
    override_adapters(blob_store=LocalBlobStore(local.local_data_dir / "blobs", notify=None,
                                                secret=signing_secret(local), public_base_url=local.public_base_url))
    item_id = upload(client, user, images.jpeg((640, 480), "green"))
    drain()
    assert get_item(client, user, item_id).json_body["status"] == "awaiting_upload"

    quiet_for(item_id)
    assert sweep(client)["resent_by_step"]["thumbnail"] >= 1
    drain()
    assert_ready_once(client, user, item_id)


def test_an_item_never_uploaded_is_not_stuck(client, user, stack) -> None:  # noqa: ANN001
    from tests.collections.conftest import create_item

    item_id = create_item(client, user)["item_id"]
    quiet_for(item_id)
    sweep(client)
    assert row(item_id)["status"] == "awaiting_upload" and row(item_id)["resend_count"] == 0


def test_a_provider_that_stays_down_fails_the_item_with_the_reason(client, user, stack) -> None:  # noqa: ANN001
    claude, _, bus = stack
    claude.handler = lambda *_: OVERLOADED
    item_id = upload(client, user, images.jpeg((640, 480), "red"))
    drain()
    for resends in (1, 2):
        quiet_for(item_id)
        sweep(client)
        assert row(item_id)["resend_count"] == resends and bus.count("ImageProcessed", item_id) == 1 + resends
        drain()
        assert get_item(client, user, item_id).json_body["status"] == "processing"
    quiet_for(item_id)
    assert sweep(client)["failed"] >= 1
    item = get_item(client, user, item_id).json_body
    assert item["status"] == "failed", item
    assert item["error"].startswith(f"analysis did not complete after 2 re-send(s) {AFTER} s apart; "
                                    "last error: analysis: Claude unavailable"), item["error"]
    assert item["latest_analysis"] is None
    quiet_for(item_id)
    sweep(client)
    assert bus.count("ImageProcessed", item_id) == 3  # a failed item is left alone


def test_a_progressing_item_is_left_alone(client, user, stack) -> None:  # noqa: ANN001
    _, _, bus = stack
    bus.lose.add("ImageProcessed")
    item_id = upload(client, user, images.jpeg((640, 480), "red"))
    drain()
    quiet_for(item_id, seconds=AFTER - 30)  # changed 30 s ago: its retries may still be on the way
    sweep(client)
    assert bus.count("ImageProcessed", item_id) == 1 and row(item_id)["resend_count"] == 0

    quiet_for(item_id, seconds=60)
    sweep(client)
    assert bus.count("ImageProcessed", item_id) == 2
    sweep(client)  # the next run, before the re-send has had its quiet period
    assert bus.count("ImageProcessed", item_id) == 2 and row(item_id)["resend_count"] == 1


def test_two_sweeps_at_once_resend_once(client, user, stack) -> None:  # noqa: ANN001
    from app import app

    _, _, bus = stack
    bus.lose.add("ImageProcessed")
    item_ids = [upload(client, user, images.jpeg((320, 240), color)) for color in ("red", "green", "blue")]
    drain()
    quiet_for(*item_ids)
    bus.lose.clear()  # the re-sends are delivered
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                            detail={}, resources=[])
    barrier, errors = threading.Barrier(2), []

    def run() -> None:
        try:
            barrier.wait()
            app.handler_map["item_sweeper"](dict(event), LambdaContext("item_sweeper"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    for item_id in item_ids:
        assert bus.count("ImageProcessed", item_id) == 2, item_id  # the upload's and one re-send
        assert row(item_id)["resend_count"] == 1
    drain()
    for item_id in item_ids:
        assert_ready_once(client, user, item_id)


def test_one_users_items_never_affect_anothers(client, stack) -> None:  # noqa: ANN001
    import uuid

    _, _, bus = stack
    alice, bob = f"alice-{uuid.uuid4().hex[:8]}", f"bob-{uuid.uuid4().hex[:8]}"
    bus.lose.add("ImageProcessed")
    alices = upload(client, alice, images.jpeg((320, 240), "red"))
    bobs = upload(client, bob, images.jpeg((320, 240), "blue"))
    drain()
    for _ in range(3):  # alice's item: re-sent twice, then failed
        quiet_for(alices)
        sweep(client)
    assert row(alices)["status"] == "failed"
    resent = [d for kind, d in bus.sent if kind == "ImageProcessed" and d["item_id"] == alices]
    assert {d["user_id"] for d in resent} == {alice}
    assert row(bobs)["status"] == "processing" and row(bobs)["resend_count"] == 0  # never quiet
    assert bus.count("ImageProcessed", bobs) == 1

    bus.lose.clear()
    quiet_for(bobs)
    sweep(client)
    drain()
    assert_ready_once(client, bob, bobs)  # bob's own budget, untouched by alice's failures
    assert get_item(client, bob, alices).status_code == 404


def test_the_sweeper_reports_items_resent_and_stuck_as_emf_metrics(client, user, stack, capsys) -> None:  # noqa: ANN001
    import json

    _, _, bus = stack
    bus.lose.add("AnalysisComplete")
    item_id = upload(client, user, images.jpeg((320, 240), "red"))
    drain()
    quiet_for(item_id)
    capsys.readouterr()
    result = sweep(client)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()
             if line.startswith("{") and '"_aws"' in line]
    (run,) = [x for x in lines if x["msg"] == "item sweeper run"]
    assert run["handler"] == "item_sweeper" and run["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["handler"]]
    assert run["ItemsResent"] == result["resent"] >= 1 and run["ItemsStuck"] == result["failed"]
    assert run["resent_by_step"]["embedding"] >= 1 and bus.count("AnalysisComplete", item_id) == 2


# --- an AWS stage: moto S3 and EventBridge, the app's real boto3 clients -----------------------

from tests.faults import test_blob_store_errors as s3_outage  # noqa: E402 - the AWS-stage fixture

aws_app = s3_outage.aws_app


def aws_sweep() -> dict[str, Any]:
    """The scheduled handler as Lambda calls it, with a 300 s budget (the function's timeout)."""
    from app import app

    event = {"version": "0", "id": "sweep-1", "detail-type": "Scheduled Event", "source": "aws.events",
             "account": "123456789012", "time": "2025-01-01T00:00:00Z", "region": "us-east-1",
             "resources": [], "detail": {}}
    return app.handler_map["item_sweeper"](event, LambdaContext("item_sweeper", timeout_seconds=300))


def test_an_s3_outage_past_the_retries_is_resent_in_an_aws_stage(aws_app, user, monkeypatch) -> None:  # noqa: ANN001
    client, faults = aws_app
    monkeypatch.setenv("ITEM_RESEND_AFTER_SECONDS", str(AFTER))
    settings.get_settings.cache_clear()
    item_id, key = s3_outage.browser_upload(client, user, images.jpeg((800, 600), "green"))
    faults.fault = "SlowDown"
    for _ in range(3):  # the notification and Lambda's 2 retries, all during the outage
        with pytest.raises(Exception, match="SlowDown"):
            s3_outage.s3_notification(client, key)
    assert row(item_id)["error"].startswith("thumbnail: S3 GetObject")

    faults.fault = None
    quiet_for(item_id)
    published: list[Any] = []
    events = wiring.aws_client("events")
    monkeypatch.setattr(events, "put_events", lambda **kw: published.append(kw) or
                        {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]})
    assert aws_sweep()["resent_by_step"]["thumbnail"] >= 1
    done = row(item_id)
    assert done["status"] == "processing" and done["thumbnail_path"] and done["error"] is None, done
    assert done["resend_step"] == "thumbnail" and done["resend_count"] == 1
    [entry] = [e for call in published for e in call["Entries"] if item_id in e["Detail"]]
    assert entry["DetailType"] == "ImageProcessed" and entry["Source"] == "collections.imageprocessor"
