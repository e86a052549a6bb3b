"""A fake Anthropic Messages API. ``base_url`` for the SDK is :attr:`FakeServer.url`."""

from __future__ import annotations

from typing import Any

from tests.fakes.server import FakeServer

MODEL = "claude-sonnet-4-5"


def message(content: list[dict[str, Any]], stop_reason: str = "tool_use", *, input_tokens: int = 100,
            output_tokens: int = 50, cache_read: int = 0, cache_creation: int = 0) -> dict[str, Any]:
    return {
        "id": "msg_fake", "type": "message", "role": "assistant", "model": MODEL, "content": content,
        "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                  "cache_read_input_tokens": cache_read, "cache_creation_input_tokens": cache_creation},
    }


def tool_use(data: dict[str, Any], name: str = "respond", **usage: Any) -> dict[str, Any]:
    return message([{"type": "tool_use", "id": "toolu_fake", "name": name, "input": data}], **usage)


def text(body: str, stop_reason: str = "end_turn") -> dict[str, Any]:
    return message([{"type": "text", "text": body}], stop_reason)


def max_tokens_cut(partial: dict[str, Any], name: str = "respond") -> dict[str, Any]:
    return message([{"type": "tool_use", "id": "toolu_fake", "name": name, "input": partial}], "max_tokens")


def refusal() -> dict[str, Any]:
    return message([{"type": "text", "text": "I can't help with that."}], "refusal")


def error(status: int, kind: str = "api_error") -> tuple[int, dict[str, Any]]:
    return status, {"type": "error", "error": {"type": kind, "message": f"fake {status}"}}


def schema_filling_handler(path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
    """Answer every request with schema-valid tool input built from the prompt's words."""
    from chalicelib.providers.offline import words
    from tests.fakes.schema_filler import SchemaFiller

    tool = body["tools"][0]
    prompt = " ".join(b.get("text", "") for b in body["messages"][0]["content"] if b.get("type") == "text")
    return 200, tool_use(SchemaFiller(words(prompt)).fill(tool["input_schema"]), name=tool["name"])


def anthropic_server(**kwargs: Any) -> FakeServer:
    return FakeServer(**kwargs)
