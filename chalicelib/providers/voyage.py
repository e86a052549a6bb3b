"""Voyage embeddings through the voyageai SDK, in batches of at most 128 texts."""

from __future__ import annotations

from chalicelib.providers.base import (
    EMBEDDING_DIMENSIONS,
    EmbeddingResult,
    InputType,
    ProviderError,
    ProviderUnavailable,
    batches,
)
from chalicelib.settings import DEFAULTS


class VoyageEmbedder:
    provider = "voyage"

    def __init__(self, api_key: str, model: str, base_url: str | None = None, timeout: float = DEFAULTS.provider_timeout_seconds,
                 max_retries: int = DEFAULTS.provider_max_retries, dimensions: int = EMBEDDING_DIMENSIONS) -> None:
        import voyageai  # imported here: only embedding calls pay for it

        self.model = model
        self.dimensions = dimensions
        self._errors = voyageai.error
        self._client = voyageai.Client(api_key=api_key, max_retries=max_retries, timeout=timeout,
                                       base_url=base_url or None)

    def embed(self, texts: list[str], input_type: InputType = "document") -> EmbeddingResult:
        vectors: list[list[float]] = []
        calls = 0
        for batch in batches(list(texts)):
            calls += 1
            vectors.extend(self._embed_batch(batch, input_type))
        return EmbeddingResult(vectors=vectors, model=self.model, dimensions=self.dimensions,
                               provider_used=self.provider, calls=calls)

    def _embed_batch(self, batch: list[str], input_type: InputType) -> list[list[float]]:
        e = self._errors
        try:
            response = self._client.embed(batch, model=self.model, input_type=input_type, truncation=True,
                                          output_dimension=self.dimensions)
        except (e.RateLimitError, e.ServiceUnavailableError, e.ServerError, e.Timeout, e.APIConnectionError,
                e.TryAgain) as exc:
            raise ProviderUnavailable(f"Voyage unavailable: {type(exc).__name__}") from None
        except e.VoyageError as exc:
            raise ProviderError(f"Voyage rejected the request: {type(exc).__name__}: {exc}",
                                status=getattr(exc, "http_status", None)) from None
        if len(response.embeddings) != len(batch):
            raise ProviderError(f"Voyage returned {len(response.embeddings)} vectors for {len(batch)} texts")
        return [list(map(float, vector)) for vector in response.embeddings]
