"""The pipeline with the real anthropic and voyageai SDKs pointed at fake servers on loopback:
success end to end, and unusable Claude output that must never write a partial analysis."""

from __future__ import annotations

import pytest

from chalicelib import wiring
from chalicelib.collections.analysis_schema import ANALYSIS_SCHEMA
from tests.collections import images
from tests.collections.conftest import get_item, search, upload
from tests.fakes import anthropic_server as fake
from tests.fakes.schema_filler import SchemaFiller

ANALYSIS = {
    **SchemaFiller(["lighthouse", "coast", "rocks", "sea"]).fill(ANALYSIS_SCHEMA),
    "category": "travel",
    "headline": "Lighthouse on a rocky coast",
    "summary": "A white lighthouse above dark rocks and a calm sea at dusk.",
}


def test_pipeline_with_real_sdks(client, user, real_sdks) -> None:  # noqa: ANN001
    claude, voyage = real_sdks
    from jsonschema import validate

    validate(ANALYSIS, ANALYSIS_SCHEMA)
    claude.handler = lambda path, headers, body: (200, fake.tool_use(ANALYSIS, name=body["tools"][0]["name"]))
    item_id = upload(client, user, images.jpeg((1600, 1200), "blue"))
    wiring.local_runtime().drain()
    item = get_item(client, user, item_id).json_body
    assert item["status"] == "ready", item
    analysis = item["latest_analysis"]
    assert analysis["provider_used"] == "anthropic" and analysis["analysis"]["headline"] == ANALYSIS["headline"]
    sent = claude.requests[0].body
    assert sent["tool_choice"]["type"] == "tool"
    assert sent["messages"][0]["content"][0]["type"] == "image"
    embed_calls = [r.body for r in voyage.requests]
    assert embed_calls[0]["input_type"] == "document" and embed_calls[0]["model"] == "voyage-3.5"
    found = search(client, user, query="lighthouse", mode="vector").json_body["results"]
    assert [r["item_id"] for r in found] == [item_id]
    assert voyage.requests[-1].body["input_type"] == "query"


@pytest.mark.parametrize(
    "reply",
    [fake.text('```json\n{"category": "travel"}\n```'), fake.text("This looks like a lighthouse."),
     fake.max_tokens_cut({"category": "travel"}), fake.refusal(), fake.tool_use({"category": 7})],
    ids=["fenced", "prose", "max_tokens", "refusal", "off-schema"],
)
def test_unusable_claude_output_fails_the_item_without_a_partial_analysis(client, user, real_sdks, reply) -> None:  # noqa: ANN001
    claude, voyage = real_sdks
    claude.handler = lambda path, headers, body: (200, reply)
    item_id = upload(client, user, images.jpeg((800, 600), "green"))
    runtime = wiring.local_runtime()
    runtime.drain()
    item = get_item(client, user, item_id).json_body
    assert item["status"] == "failed" and item["error"]
    assert item["latest_analysis"] is None
    assert client.http.get(f"/items/{item_id}/analyses",
                           headers=__import__("tests.conftest", fromlist=["x"]).auth_headers(user)).json_body["analyses"] == []
    assert voyage.requests == []  # no AnalysisComplete, so no embedding


def test_claude_outage_is_retried_by_the_event_source(client, user, real_sdks) -> None:  # noqa: ANN001
    claude, _ = real_sdks
    claude.reply(*fake.error(529, "overloaded_error"))
    claude.handler = lambda path, headers, body: (200, fake.tool_use(ANALYSIS, name=body["tools"][0]["name"]))
    item_id = upload(client, user, images.jpeg((800, 600), "red"))
    wiring.local_runtime().drain()
    assert get_item(client, user, item_id).json_body["status"] == "ready"
    assert len(claude.requests) >= 2
