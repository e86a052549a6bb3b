"""An ImageProcessed event with neither ``request_id`` nor an EventBridge ``id`` gets an id of its
own: two such events for two items are two analyses, not a duplicate of the first."""

from __future__ import annotations

from tests.collections import images
from tests.collections.conftest import counts, deliveries, get_item, handler, upload

ANALYZER = "collections_analyzer"


def test_events_without_ids_are_each_analysed(client, runtime, fakes, user) -> None:  # noqa: ANN001
    llm, _ = fakes
    first = upload(client, user, images.jpeg((800, 600), "green"))
    second = upload(client, user, images.jpeg((800, 600), "blue"))
    runtime.drain()
    assert counts(first)["analyses"] == counts(second)["analyses"] == 1
    calls = len(llm.calls)

    for delivery in deliveries(runtime, ANALYZER):
        event = dict(delivery.payload)
        event["id"] = ""  # Chalice needs the key; EventBridge always sets it, a hand-made event may not
        event["detail"] = {k: v for k, v in event["detail"].items() if k != "request_id"}
        handler(ANALYZER)(event, None)

    assert counts(first)["analyses"] == 2 and counts(second)["analyses"] == 2
    assert len(llm.calls) == calls + 2
    assert get_item(client, user, second).json_body["latest_analysis"]["version"] == 2
