"""A fake model's answer: a value valid for any JSON Schema, built from words of the prompt (the
fake Anthropic server and tests use it; no provider of the app does)."""

from __future__ import annotations

import hashlib
import re
from typing import Any


class SchemaFiller:
    """Builds a value valid for a JSON Schema from words of the prompt."""

    def __init__(self, vocabulary: list[str]) -> None:
        self.vocab = vocabulary or ["offline"]
        self.cursor = 0

    def word(self) -> str:
        value = self.vocab[self.cursor % len(self.vocab)]
        self.cursor += 1
        return value

    def phrase(self, n: int) -> str:
        return " ".join(self.word() for _ in range(n))

    def fill(self, schema: dict[str, Any], name: str = "") -> Any:
        if "enum" in schema:
            options = schema["enum"]
            return options[int(hashlib.sha256(" ".join(self.vocab).encode()).hexdigest(), 16) % len(options)]
        if "const" in schema:
            return schema["const"]
        kind = schema.get("type", "object")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object":
            props = schema.get("properties", {})
            return {key: self.fill(sub, key) for key, sub in props.items()}
        if kind == "array":
            low = schema.get("minItems", 0)
            high = schema.get("maxItems", max(low, 3))
            count = min(max(low, 2), high)
            return [self.fill(schema.get("items", {"type": "string"}), name) for _ in range(count)]
        if kind == "string":
            size = 12 if any(k in name for k in ("summary", "body", "description", "response")) else 3
            text = self.phrase(size).capitalize()
            if name in {"extracted_text"}:
                text = ""
            if schema.get("pattern", "").startswith("^/"):
                text = "/" + re.sub(r"[^A-Za-z0-9]", "", self.word()).lower()
            text = text[: schema.get("maxLength", 10_000)]
            return text.ljust(schema.get("minLength", 0), "x")
        if kind == "integer":
            return int(schema.get("minimum", 0))
        if kind == "number":
            low = schema.get("minimum", 0)
            high = schema.get("maximum", low + 1)
            return round((low + high) / 2, 3)
        if kind == "boolean":
            return False
        return None


