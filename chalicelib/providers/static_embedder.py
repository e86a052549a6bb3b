"""The offline embedder: WordLlama's static token embeddings (256 dimensions, weights shipped in
the ``wordllama`` wheel), so local vector search matches meaning ("ramen" finds "noodle soup")
rather than shared letters. Nothing is downloaded: the weights and tokenizer are read from the
installed package.

Vectors are unit length and zero-padded to the embeddings column's width; padding leaves cosine
distance unchanged, and ``dimensions`` records the model's own 256. Search compares a vector only
with vectors of the same ``embedding_model`` and ``embedding_dimensions``.

``wordllama`` is a development dependency, never in the Lambda package. Where it cannot be
imported, the embedder falls back to feature hashing (lexical only), logs that once and names the
fallback in ``model``.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from chalicelib.providers.base import EMBEDDING_DIMENSIONS, EmbeddingResult, InputType, batches

log = logging.getLogger(__name__)

OFFLINE = "offline"
WORDLLAMA_MODEL = "offline-wordllama-l2-supercat-256"
WORDLLAMA_DIMENSIONS = 256
HASH_MODEL = "offline-hash-1024"

_lock = threading.Lock()
_model: Any = None
_load_failed = False


def _load_wordllama() -> Any:
    """The WordLlama inference object from the wheel's own files, or None (logged once)."""
    global _model, _load_failed
    with _lock:
        if _model is not None or _load_failed:
            return _model
        try:
            import wordllama
            from safetensors import safe_open
            from wordllama import WordLlama
            from wordllama.inference import WordLlamaInference

            root = Path(wordllama.__file__).parent
            # Read the packaged files directly: WordLlama.load() looks for the tokenizer in a
            # folder the wheel does not have and would try to download it.
            tokenizer = WordLlama.load_tokenizer(root / "tokenizers" / "l2_supercat_tokenizer_config.json")
            with safe_open(str(root / "weights" / "l2_supercat_256.safetensors"), framework="np",
                           device="cpu") as weights:
                table = weights.get_tensor("embedding.weight")
            _model = WordLlamaInference(table, tokenizer)
        except Exception as exc:  # noqa: BLE001 - any failure means: degrade, say so once
            _load_failed = True
            log.warning("offline embedder: wordllama unavailable (%s); falling back to feature hashing, "
                        "which matches words, not meaning", exc)
        return _model


def wordllama_status() -> str | None:
    """None when WordLlama can be imported, else why not (checked without importing it)."""
    import importlib.util

    try:
        found = importlib.util.find_spec("wordllama") is not None
    except (ImportError, ValueError):
        found = False
    return None if found else "wordllama is not installed"


def _pad(vector: list[float], width: int) -> list[float]:
    return vector + [0.0] * (width - len(vector))


class StaticEmbedder:
    """Meaningful offline embeddings (WordLlama), labelled ``offline``; hashing if unavailable."""

    def __init__(self, column_width: int = EMBEDDING_DIMENSIONS) -> None:
        self.column_width = column_width
        self._wordllama = _load_wordllama()
        self.model = WORDLLAMA_MODEL if self._wordllama is not None else HASH_MODEL
        self.dimensions = WORDLLAMA_DIMENSIONS if self._wordllama is not None else column_width

    def embed(self, texts: list[str], input_type: InputType = "document") -> EmbeddingResult:
        texts = list(texts)
        if self._wordllama is None:
            from chalicelib.providers.offline import hashed_vector

            vectors = [hashed_vector(t, self.column_width) for t in texts]
        else:
            vectors = []
            if texts:
                # Empty strings embed to zeros; give them a token so every vector has a direction.
                matrix = self._wordllama.embed([t if t.strip() else "empty" for t in texts], norm=True)
                vectors = [_pad([float(x) for x in row], self.column_width) for row in matrix]
        return EmbeddingResult(vectors=vectors, model=self.model, dimensions=self.dimensions,
                               provider_used=OFFLINE, calls=len(batches(texts)) if texts else 0)
