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


# --- tool-use turns (the concierge agent's loop) -------------------------------------------------


def tool_calls(*calls: tuple[str, dict[str, Any]], text: str = "") -> dict[str, Any]:
    """An assistant turn calling tools (``stop_reason: tool_use``), each call with a unique id."""
    import uuid

    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    content += [{"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:16]}", "name": name, "input": data}
                for name, data in calls]
    return message(content, "tool_use")


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool results the client sent back in its last user turn: ``{"tool_use_id",
    "content" (parsed JSON when it is JSON), "is_error"}``."""
    import json

    last = body["messages"][-1]
    found = []
    for block in last["content"] if isinstance(last["content"], list) else []:
        if block.get("type") == "tool_result":
            content = block.get("content")
            try:
                content = json.loads(content) if isinstance(content, str) else content
            except ValueError:
                pass
            found.append({"tool_use_id": block["tool_use_id"], "content": content,
                          "is_error": bool(block.get("is_error"))})
    return found


class ToolScript:
    """A handler playing a model through a scripted conversation: step ``i`` answers the
    ``i``-th request, either a fixed reply or ``step(body) -> reply`` (to use the previous
    tool results, e.g. a vendor id find_vendors returned). Past the script it ends the turn."""

    def __init__(self, *steps: Any) -> None:
        self.steps = list(steps)
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        self.bodies.append(body)
        index = len(self.bodies) - 1
        if index >= len(self.steps):
            return 200, text("Done.")
        step = self.steps[index]
        return 200, step(body) if callable(step) else step
