"""ClaudeLLM with the real anthropic SDK against a fake Messages API on loopback."""

from __future__ import annotations

import pytest

from chalicelib.providers.base import ProviderError, ProviderOutputError, ProviderUnavailable
from chalicelib.providers.claude import ClaudeLLM
from tests.fakes import anthropic_server as fake
from tests.fakes.server import FakeServer

SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["category", "tags"],
    "properties": {"category": {"type": "string", "enum": ["food", "travel"]},
                   "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3}},
}


@pytest.fixture()
def server():
    with FakeServer() as s:
        yield s


def llm(server: FakeServer, timeout: float = 5.0) -> ClaudeLLM:
    return ClaudeLLM("sk-test-key", "claude-sonnet-4-5", base_url=server.url, timeout=timeout, max_retries=0)


def test_forced_tool_cached_system_image_and_validated_result(server: FakeServer) -> None:
    server.reply(200, fake.tool_use({"category": "food", "tags": ["pizza"]}, cache_read=80))
    result = llm(server).complete_json("You classify.", "Classify this", SCHEMA,
                                       images=[{"media_type": "image/png", "data": b"\x89PNG"}])
    assert result.data == {"category": "food", "tags": ["pizza"]}
    assert result.provider_used == "anthropic" and result.model_used == "claude-sonnet-4-5"
    assert result.usage["cache_read_input_tokens"] == 80
    sent = server.requests[0]
    assert sent.path == "/v1/messages"
    assert "sk-test-key" in (sent.headers.get("x-api-key"), sent.headers.get("authorization", "").removeprefix("Bearer "))
    assert sent.body["tool_choice"] == {"type": "tool", "name": "respond"}
    assert sent.body["tools"][0]["input_schema"] == SCHEMA
    assert sent.body["system"][0]["cache_control"] == {"type": "ephemeral"}
    content = sent.body["messages"][0]["content"]
    assert content[0]["type"] == "image" and content[0]["source"]["media_type"] == "image/png"
    assert content[-1] == {"type": "text", "text": "Classify this"}


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (fake.text("```json\n{\"category\": \"food\", \"tags\": []}\n```"), "without the respond tool"),
        (fake.text("Sure! Here it is: {\"category\": \"food\"}"), "without the respond tool"),
        (fake.max_tokens_cut({"category": "food"}), "max_tokens"),
        (fake.refusal(), "refused"),
        (fake.tool_use({"category": "weather", "tags": []}), "schema"),
        (fake.tool_use({"category": "food", "tags": [], "extra": 1}), "schema"),
    ],
    ids=["fenced", "prose", "max_tokens", "refusal", "off-enum", "extra-field"],
)
def test_unusable_output_never_returns_data(server: FakeServer, reply: dict, match: str) -> None:
    server.reply(200, reply)
    with pytest.raises(ProviderOutputError, match=match):
        llm(server).complete_json("s", "p", SCHEMA)


@pytest.mark.parametrize("status", [429, 500, 529])
def test_overload_and_server_errors_are_unavailable(server: FakeServer, status: int) -> None:
    server.reply(*fake.error(status))
    with pytest.raises(ProviderUnavailable):
        llm(server).complete_json("s", "p", SCHEMA)


def test_bad_request_is_a_provider_error_not_retryable(server: FakeServer) -> None:
    server.reply(*fake.error(400, "invalid_request_error"))
    with pytest.raises(ProviderError) as info:
        llm(server).complete_json("s", "p", SCHEMA)
    assert not isinstance(info.value, ProviderUnavailable) and info.value.status == 400


def test_timeout_is_unavailable(server: FakeServer) -> None:
    server.reply(200, fake.tool_use({"category": "food", "tags": []}), delay=2.0)
    with pytest.raises(ProviderUnavailable):
        llm(server, timeout=0.3).complete_json("s", "p", SCHEMA)


