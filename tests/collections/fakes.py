"""Small stand-ins for the LLM and embedder ports (network edges) used by unit tests.

The fake LLM reads the thumbnail's dominant colour and describes it, so different uploads get
different, searchable analyses; the fake embedder hashes words into a normalised 1024-d vector,
so documents sharing words are close in cosine distance.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import threading
from dataclasses import dataclass, field
from typing import Any

DESCRIPTIONS = {
    "red": ("food", "A bowl of tomato soup", "Tomato soup with basil on a wooden table.", ["soup", "bowl"]),
    "green": ("nature", "Forest hiking trail", "A trail through a green pine forest.", ["trees", "trail"]),
    "blue": ("travel", "Ocean beach at noon", "Waves on a sandy ocean beach under a blue sky.", ["waves", "sand"]),
}


@dataclass
class Result:
    data: dict[str, Any]
    provider_used: str = "fake"
    model_used: str = "fake-vision"
    usage: dict[str, Any] = field(default_factory=dict)
    raw_text: str = ""


def dominant_color(image: bytes) -> str:
    from PIL import Image, ImageStat

    with Image.open(io.BytesIO(image)) as im:
        r, g, b = ImageStat.Stat(im.convert("RGB")).median
    return max((("red", r), ("green", g), ("blue", b)), key=lambda pair: pair[1])[0]


class FakeLLM:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail_with: Exception | None = None
        self._lock = threading.Lock()

    def complete_json(self, *, system: str, prompt: str, schema: dict, images: list | None = None,
                      max_tokens: int = 1024, **_: Any) -> Result:
        with self._lock:
            self.calls.append({"system": system, "prompt": prompt, "schema": schema, "images": images})
        if self.fail_with is not None:
            raise self.fail_with
        color = dominant_color(images[0]["data"])
        category, headline, summary, objects = DESCRIPTIONS[color]
        return Result({
            "category": category, "subcategories": [color], "headline": headline, "summary": summary,
            "image_details": {"extracted_text": "", "objects": objects, "themes": [color]},
            "media_metadata": {"image_type": "photo"},
        })


@dataclass
class Embedding:
    vectors: list[list[float]]
    model: str = "fake-embed"
    dimensions: int = 1024
    provider_used: str = "fake"


def word_vector(text: str, dimensions: int = 1024) -> list[float]:
    vector = [0.0] * dimensions
    for word in re.findall(r"[a-z]+", text.lower()):
        vector[int(hashlib.sha1(word.encode()).hexdigest(), 16) % dimensions] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    if norm == 1.0 and not any(vector):
        vector[0] = 1.0
    return [v / norm for v in vector]


class FakeEmbedder:
    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    def embed(self, texts: list[str], input_type: str = "document") -> Embedding:
        with self._lock:
            self.calls.append((len(texts), input_type))
        return Embedding([word_vector(text) for text in texts])
