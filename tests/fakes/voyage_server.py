"""A fake Voyage embeddings API. ``base_url`` for the SDK is ``FakeServer.url + "/v1"``."""

from __future__ import annotations

from typing import Any

from tests.fakes.server import FakeServer


def embeddings_handler(path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
    """Deterministic 1024-d vectors for each input (the offline hashing, served over HTTP)."""
    from chalicelib.providers.offline import hashed_vector

    dims = body.get("output_dimension") or 1024
    data = [{"object": "embedding", "embedding": hashed_vector(t, dims), "index": i}
            for i, t in enumerate(body["input"])]
    return 200, {"object": "list", "data": data, "model": body["model"],
                 "usage": {"total_tokens": sum(len(t.split()) for t in body["input"])}}


def voyage_server() -> FakeServer:
    return FakeServer(default=embeddings_handler)
