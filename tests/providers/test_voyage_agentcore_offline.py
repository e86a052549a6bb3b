"""Voyage (real SDK, fake server), AgentCore (Stubber on the real client), offline providers,
and the factories that choose between them."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from chalicelib import settings
from chalicelib.providers import get_agent, get_embedder, get_llm, provider_status
from chalicelib.providers.agentcore import AgentCoreAgent, session_id_for
from chalicelib.providers.base import ProviderUnavailable
from chalicelib.providers.offline import OfflineAgent, OfflineEmbedder
from chalicelib.providers.offline_llm import OfflineLLM
from chalicelib.providers.static_embedder import StaticEmbedder
from chalicelib.providers.voyage import VoyageEmbedder
from tests.conftest import ROOT
from tests.fakes import voyage_server

ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/valro-agent-abc123"


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_voyage_batches_at_128_and_forwards_input_type() -> None:
    with voyage_server.voyage_server() as server:
        embedder = VoyageEmbedder("pa-test", "voyage-3.5", base_url=server.url + "/v1", max_retries=0)
        result = embedder.embed([f"text {i}" for i in range(300)], input_type="document")
    assert len(result.vectors) == 300 and result.calls == 3 and result.dimensions == 1024
    assert [len(r.body["input"]) for r in server.requests] == [128, 128, 44]
    assert {r.body["input_type"] for r in server.requests} == {"document"}
    assert server.requests[0].headers["authorization"] == "Bearer pa-test"
    assert server.requests[0].body["model"] == "voyage-3.5"


def test_voyage_rate_limit_is_unavailable() -> None:
    with voyage_server.voyage_server() as server:
        server.reply(429, {"detail": "rate limited"})
        embedder = VoyageEmbedder("pa-test", "voyage-3.5", base_url=server.url + "/v1", max_retries=0)
        with pytest.raises(ProviderUnavailable):
            embedder.embed(["x"], input_type="query")


def _agentcore(stub_response: dict, expected: dict | None = None) -> tuple[AgentCoreAgent, Stubber]:
    client = boto3.client("bedrock-agentcore", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_response("invoke_agent_runtime", stub_response, expected)
    stubber.activate()
    return AgentCoreAgent(ARN, "us-east-1", client=client), stubber


def test_agentcore_call_shape_and_json_answer() -> None:
    answer = {"response": "3 vendors contacted", "vendors": [{"name": "A"}], "quotes": [], "emails_sent": 3}
    body = json.dumps(answer).encode()
    expected = {"agentRuntimeArn": ARN, "runtimeSessionId": session_id_for("task-1"),
                "contentType": "application/json", "accept": "application/json",
                "payload": json.dumps({"prompt": "Find a painter", "task_id": "task-1"}).encode()}
    agent, stubber = _agentcore({"contentType": "application/json", "statusCode": 200,
                                 "response": StreamingBody(io.BytesIO(body), len(body))}, expected)
    result = agent.run("task-1", "Find a painter")
    stubber.assert_no_pending_responses()
    assert result.response_text == "3 vendors contacted" and result.emails_sent == 3
    assert result.provider_used == "agentcore"
    assert 33 <= len(session_id_for("task-1")) <= 256


def test_agentcore_event_stream_answer() -> None:
    body = b'data: "Found "\n\ndata: "two painters"\n\n'
    agent, _ = _agentcore({"contentType": "text/event-stream", "statusCode": 200,
                           "response": StreamingBody(io.BytesIO(body), len(body))})
    assert agent.run("t", "paint").response_text == "Found two painters"


def test_agentcore_throttling_is_unavailable() -> None:
    client = boto3.client("bedrock-agentcore", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error("invoke_agent_runtime", "ThrottlingException", http_status_code=429)
    stubber.activate()
    with pytest.raises(ProviderUnavailable):
        AgentCoreAgent(ARN, "us-east-1", client=client).run("t", "x")


def test_offline_llm_refuses_what_it_cannot_do_instead_of_inventing() -> None:
    """Without an image there is nothing to read: no schema is filled with the prompt's words."""
    from chalicelib.providers.base import ProviderError

    with pytest.raises(ProviderError, match="image analysis and page composition only"):
        OfflineLLM().complete_json("sys", "A sunny beach with palm trees", {"type": "object"})


def test_offline_embeddings_are_deterministic_unit_and_semantic() -> None:
    e = OfflineEmbedder()
    a, b, c = e.embed(["red sports car on a road", "a red car driving on the road", "bowl of ramen soup"]).vectors
    assert len(a) == 1024 and math.isclose(sum(x * x for x in a), 1.0, rel_tol=1e-9)
    assert a == OfflineEmbedder().embed(["red sports car on a road"]).vectors[0]
    assert cosine(a, b) > cosine(a, c) + 0.2
    assert e.embed(["x"]).provider_used == "offline"


def test_offline_static_embedder_matches_meaning_not_letters() -> None:
    e = StaticEmbedder()
    result = e.embed(["ramen noodle shop", "japanese soup noodles", "sunset over the beach",
                      "where did I buy sneakers", "nike running shoes store", ""])
    ramen, noodles, beach, buy, shoes, empty = result.vectors
    assert result.provider_used == "offline"
    assert (result.model, result.dimensions) == ("offline-wordllama-l2-supercat-256", 256)
    assert all(len(v) == 1024 for v in result.vectors)  # zero-padded to the column width
    assert all(x == 0.0 for x in ramen[256:]) and math.isclose(sum(x * x for x in ramen), 1.0, rel_tol=1e-5)
    # No shared words, yet the paraphrases are nearest.
    assert cosine(ramen, noodles) > cosine(ramen, beach) + 0.2
    assert cosine(buy, shoes) > cosine(buy, beach) + 0.2
    assert any(x != 0.0 for x in empty)
    assert e.embed(["ramen noodle shop"]).vectors[0] == ramen


def test_offline_agent_acts_only_through_the_tools(local_env) -> None:  # noqa: ANN001
    import uuid

    from chalicelib.vendors.handlers import toolbox

    job = "Find me a landscaper in Charlotte under $300"
    events: list[str] = []
    tools = toolbox(str(uuid.uuid4()), job, lambda message, kind: events.append(message))
    result = OfflineAgent().run(tools.task_id, job, tools=tools)
    assert result.provider_used == "offline" and result.emails_sent == 0  # counted from records, not here
    assert [c["tool"] for c in tools.calls] == ["find_vendors", "request_quote", "request_quote", "request_quote"]
    assert tools.requests.effects(tools.task_id)["emails_sent"] == 3 and len(events) == 4
    assert "requested quotes from 3" in result.response_text
    with pytest.raises(ValueError, match="only through tools"):
        OfflineAgent().run("t", job)


def test_agentcore_session_is_the_task_and_its_report_is_parsed_safely() -> None:
    task_id = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"
    assert session_id_for(task_id) == task_id
    answer = {"result": "ok", "vendors": ["Acme", {"name": "Bolt", "email": "b@x.example", "junk": [1]}, {"no": 1}, 7.5],
              "quotes": [{"vendor": "Acme", "amount": "120.5"}, {"vendor": "Bolt", "price": -1},
                         {"vendor": "", "price": 3}, {"price": True, "vendor": "X"}, "nope"],
              "emails_sent": "lots"}
    body = json.dumps(answer).encode()
    agent, _ = _agentcore({"contentType": "application/json", "statusCode": 200,
                           "response": StreamingBody(io.BytesIO(body), len(body))})
    result = agent.run(task_id, "Find a painter")
    assert result.response_text == "ok" and result.emails_sent == 0
    assert result.vendors == [{"name": "Acme"}, {"name": "Bolt", "email": "b@x.example"}, {"name": "7.5"}]
    assert result.quotes == [{"vendor": "Acme", "price": 120.5, "currency": "USD", "note": ""}]


def test_factories_choose_real_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "CLAUDE_API_KEY", "VOYAGE_API_KEY", "AGENT_RUNTIME_ARN"):
        monkeypatch.delenv(name, raising=False)
    settings.reset()
    s = settings.get_settings()
    assert provider_status(s) == {"claude": "offline", "voyage": "offline", "agentcore": "offline"}
    assert isinstance(get_llm(s), OfflineLLM) and isinstance(get_embedder(s), StaticEmbedder)
    assert isinstance(get_agent(s, get_llm(s)), OfflineAgent)
    monkeypatch.setenv("CLAUDE_API_KEY", "sk-seed-name")
    monkeypatch.setenv("VOYAGE_API_KEY", "pa-x")
    monkeypatch.setenv("AGENT_RUNTIME_ARN", ARN)
    settings.reset()
    s = settings.get_settings()
    assert provider_status(s) == {"claude": "real", "voyage": "real", "agentcore": "real"}
    assert type(get_llm(s)).__name__ == "ClaudeLLM"
    assert type(get_embedder(s)).__name__ == "VoyageEmbedder"
    assert isinstance(get_agent(s, get_llm(s)), AgentCoreAgent)
    settings.reset()


def test_importing_providers_imports_no_sdk() -> None:
    code = ("import sys\nfrom chalicelib import providers, settings\n"
            "providers.provider_status(settings.get_settings())\n"
            "print([m for m in ('anthropic', 'voyageai', 'PIL') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
