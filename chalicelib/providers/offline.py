"""Offline stand-ins for local development without keys. Deterministic, useful, and labelled:
everything they produce says ``provider_used = "offline"``. (Claude's stand-in, which reads
images and composes pages, is :mod:`chalicelib.providers.offline_llm`.)"""

from __future__ import annotations

import hashlib
import math
import re

from chalicelib.providers.base import (
    AGENT_SCHEMA,
    EMBEDDING_DIMENSIONS,
    AgentResult,
    EmbeddingResult,
    InputType,
    batches,
    validate,
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
    """A plausible concierge answer derived from the task, marked ``offline``."""

    def run(self, task_id: str, description: str) -> AgentResult:
        terms = words(description)
        service = next((t for t in terms if t.endswith(("er", "ing", "or"))), terms[0] if terms else "service")
        budget = next((int(n) for n in re.findall(r"\$?(\d{2,6})", description)), 250)
        vendors = [{"name": f"{service.title()} Pros {i}", "service": service, "location": "local",
                    "contact": f"vendor{i}@example.invalid"} for i in (1, 2, 3)]
        quotes = [{"vendor": v["name"], "amount": round(budget * f, 2), "currency": "USD",
                   "notes": "offline estimate"} for v, f in zip(vendors, (0.8, 0.9, 1.0), strict=True)]
        data = {
            "response": (f"[offline agent] Contacted {len(vendors)} {service} vendors for: {description[:200]}. "
                         f"Quotes range from ${quotes[0]['amount']:.0f} to ${quotes[-1]['amount']:.0f}."),
            "vendors": vendors, "quotes": quotes, "emails_sent": len(vendors),
        }
        validate(data, AGENT_SCHEMA)
        return AgentResult(response_text=data["response"], vendors=vendors, quotes=quotes,
                           emails_sent=len(vendors), provider_used=OFFLINE, raw=data)
