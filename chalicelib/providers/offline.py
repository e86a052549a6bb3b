"""Offline stand-ins for local development without keys. Deterministic, useful, and labelled:
everything they produce says ``provider_used = "offline"``."""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

from chalicelib.providers.base import (
    EMBEDDING_DIMENSIONS,
    AgentResult,
    EmbeddingResult,
    Image,
    InputType,
    JsonResult,
    batches,
    validate,
)

OFFLINE = "offline"
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOP = {"the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "with", "is", "are", "be", "this",
         "that", "it", "as", "at", "by", "from", "your", "you", "return", "json", "data", "not"}


def words(text: str) -> list[str]:
    return [w for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOP and len(w) > 1]


class _SchemaFiller:
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


class OfflineLLM:
    """Schema-valid answers built from the prompt's own words, marked ``offline``."""

    model = "offline-llm-1"

    def complete_json(self, system: str, prompt: str, schema: dict[str, Any], *, tool_name: str = "respond",
                      images: list[Image] | None = None, max_tokens: int = 2048,
                      cache_system: bool = True) -> JsonResult:
        data = _SchemaFiller(words(prompt)).fill(schema)
        validate(data, schema)
        tokens = len(words(system)) + len(words(prompt))
        return JsonResult(data=data, provider_used=OFFLINE, model_used=self.model,
                          usage={"input_tokens": tokens, "output_tokens": 0,
                                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
                          raw_text="")


def hashed_vector(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """A unit vector from feature hashing of word unigrams and character trigrams: texts that
    share words land close in cosine, so local search behaves like search."""
    vector = [0.0] * dimensions
    tokens = words(text)
    features = [(f"w:{t}", 1.0) for t in tokens]
    for token in tokens:
        padded = f"#{token}#"
        features.extend((f"c:{padded[i:i + 3]}", 0.3) for i in range(len(padded) - 2))
    if not features:
        features = [("empty", 1.0)]
    for feature, weight in features:
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "little") % dimensions
        sign = 1.0 if digest[4] & 1 else -1.0
        vector[index] += sign * weight
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


class OfflineEmbedder:
    model = "offline-hash-1024"

    def __init__(self, dimensions: int = EMBEDDING_DIMENSIONS) -> None:
        self.dimensions = dimensions

    def embed(self, texts: list[str], input_type: InputType = "document") -> EmbeddingResult:
        texts = list(texts)
        return EmbeddingResult(vectors=[hashed_vector(t, self.dimensions) for t in texts], model=self.model,
                               dimensions=self.dimensions, provider_used=OFFLINE,
                               calls=len(batches(texts)) if texts else 0)


class OfflineAgent:
    """The concierge without a model: the same tools as Claude, planned deterministically.
    It reads the trade (synonyms included) and an area the directory knows from the task, calls
    ``find_vendors``, then ``request_quote`` for up to the per-task limit; its summary says only
    what the tools returned. Marked ``offline``."""

    uses_tools = True

    def run(self, task_id: str, description: str, tools: Any = None, deadline: float | None = None) -> AgentResult:
        from chalicelib.vendors.directory import area_in, trade_in
        from chalicelib.vendors.tools import ToolInputError

        if tools is None:
            raise ValueError("the offline agent acts only through tools; none were given")
        trade = trade_in(description)
        area = area_in(description, tools.directory.known_areas())
        if trade is None or area is None:
            missing = " or ".join(n for n, v in (("a trade", trade), ("an area we have vendors in", area)) if v is None)
            return self._result(f"[offline agent] The task does not name {missing}, so no vendor was contacted.",
                                tools)
        found = tools.call("find_vendors", {"trade": trade, "area": area})
        sent, failed = [], []
        message = f"A customer asks for a quote for this {trade} job in {area.title()}: {_plain(description)}"
        for vendor in found["vendors"][: tools.max_quote_requests]:
            try:
                outcome = tools.call("request_quote", {"vendor": vendor["id"], "message": message})
            except ToolInputError as exc:
                failed.append(f"{vendor['name']} ({exc})")
                continue
            (sent if outcome["status"] in ("sent", "already_requested") else failed).append(vendor["name"])
        text = (f"[offline agent] Found {found['count']} {trade} vendor(s) in {area.title()}; "
                f"requested quotes from {len(sent)}" + (f": {', '.join(sent)}" if sent else "") + ".")
        if failed:
            text += f" Not sent: {', '.join(failed)}."
        return self._result(text, tools)

    @staticmethod
    def _result(text: str, tools: Any) -> AgentResult:
        return AgentResult(response_text=text, vendors=[], quotes=[], emails_sent=0, provider_used=OFFLINE,
                           raw={"tool_calls": tools.calls})


def _plain(text: str, limit: int = 1200) -> str:
    """The description as a quote-request message: no links (the tool refuses them), bounded."""
    from chalicelib.vendors.tools import _URL

    return _URL.sub("[link removed]", " ".join(text.split()))[:limit]
