"""Offline stand-ins for local development without keys. Deterministic, useful, and labelled:
everything they produce says ``provider_used = "offline"``. (Claude's stand-in, which reads
images and composes pages, is :mod:`chalicelib.providers.offline_llm`.)"""

from __future__ import annotations

import hashlib
import math
import re

from chalicelib.ports import ToolInputError, Tools
from chalicelib.providers.base import (
    EMBEDDING_DIMENSIONS,
    AgentResult,
    EmbeddingResult,
    InputType,
    batches,
)

OFFLINE = "offline"
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOP = {"the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "with", "is", "are", "be", "this",
         "that", "it", "as", "at", "by", "from", "your", "you", "return", "json", "data", "not"}


def words(text: str) -> list[str]:
    return [w for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOP and len(w) > 1]


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

    def run(self, task_id: str, description: str, tools: Tools | None = None,
            deadline: float | None = None) -> AgentResult:
        if tools is None:
            raise ValueError("the offline agent acts only through tools; none were given")
        trade, area = tools.read_request(description)
        if trade is None or area is None:
            missing = " or ".join(n for n, v in (("a trade", trade), ("an area we have vendors in", area)) if v is None)
            return self._result(f"[offline agent] The task does not name {missing}, so no vendor was contacted.",
                                tools)
        found = tools.call("find_vendors", {"trade": trade, "area": area})
        sent, failed = [], []
        message = f"A customer asks for a quote for this {trade} job in {area.title()}: {tools.as_message(description)}"
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
    def _result(text: str, tools: Tools) -> AgentResult:
        return AgentResult(response_text=text, vendors=[], quotes=[], emails_sent=0, provider_used=OFFLINE,
                           raw={"tool_calls": tools.calls})

