"""Bulk-load synthetic collections (items, analyses, embeddings) with COPY, for benchmarks."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Engine, text

CATEGORIES = {
    "travel": "beach ocean mountain lake sunset city skyline island harbour temple bridge",
    "food": "pizza pasta salad soup coffee cake bread sushi noodles dessert",
    "animals": "dog cat horse bird rabbit puppy kitten parrot fox deer",
    "documents": "receipt invoice letter form contract passport ticket menu note label",
    "nature": "forest flower tree river waterfall meadow leaf moss canyon snow",
    "vehicles": "car bicycle train plane boat truck scooter bus tram motorcycle",
    "people": "portrait family wedding party crowd concert team friends selfie graduation",
    "home": "kitchen sofa bedroom garden plant lamp window table bookshelf rug",
}
FILLER = "bright dark old new small large red blue green golden quiet busy morning evening".split()


def _copy(engine: Engine, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(_cell(v) for v in row) + "\n")
    buffer.seek(0)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
        raw.commit()
    finally:
        raw.close()


def _cell(value: Any) -> str:
    if value is None:
        return r"\N"
    return str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


def vector_literal(values: Sequence[float]) -> str:
    return "[" + ",".join(f"{v:.5f}" for v in values) + "]"


def load(engine: Engine, docs: Sequence[dict[str, Any]], vectors: Sequence[Sequence[float]] | None,
         batch: int = 5000, progress: bool = True, model: str = "bench", dimensions: int | None = None,
         keyword_index: bool = True) -> None:
    """``docs``: {item_id, user_id, analysis (raw_response dict)}; vectors aligned with docs, stored
    as ``model`` with ``dimensions`` (default: the vector's length). Setting each item's current
    analysis fires the search-index trigger, as in the pipeline; ``keyword_index=False`` skips it
    (vector-only benchmarks) and records only each user's collection size."""
    started = time.perf_counter()
    if not keyword_index:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE items DISABLE TRIGGER items_search_index"))
    for start in range(0, len(docs), batch):
        chunk = docs[start:start + batch]
        with engine.begin() as conn:
            conn.execute(text("SET CONSTRAINTS ALL DEFERRED"))
        _copy(engine, "items", ["id", "user_id", "filename", "file_path", "mime_type", "status",
                                "current_analysis_id"],
              [(d["item_id"], d["user_id"], f"{d['item_id']}.jpg", f"{d['user_id']}/{d['item_id']}.jpg",
                "image/jpeg", "ready", None) for d in chunk])
        _copy(engine, "analyses", ["id", "item_id", "user_id", "version", "request_id", "category", "headline",
                                   "summary", "raw_response", "provider_used", "model_used"],
              [(f"a-{d['item_id']}", d["item_id"], d["user_id"], 1, f"bench:{d['item_id']}",
                d["analysis"]["category"], d["analysis"]["headline"], d["analysis"]["summary"],
                json.dumps(d["analysis"]), "bench", "bench") for d in chunk])
        with engine.begin() as conn:
            conn.execute(text("UPDATE items SET current_analysis_id = 'a-' || id "
                              "WHERE id = ANY(:ids)"), {"ids": [d["item_id"] for d in chunk]})
        if vectors is not None:
            _copy(engine, "embeddings", ["id", "item_id", "analysis_id", "user_id", "vector", "embedding_model",
                                         "embedding_dimensions", "embedding_source"],
                  [(f"e-{d['item_id']}", d["item_id"], f"a-{d['item_id']}", d["user_id"],
                    vector_literal(vectors[start + i]), model, dimensions or len(vectors[start + i]), "{}")
                   for i, d in enumerate(chunk)])
        if progress:
            print(f"  loaded {min(start + batch, len(docs))}/{len(docs)} rows "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
    if not keyword_index:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE items ENABLE TRIGGER items_search_index"))
            sizes: dict[str, int] = {}
            for d in docs:
                sizes[d["user_id"]] = sizes.get(d["user_id"], 0) + 1
            for user_id, size in sizes.items():
                conn.execute(text("INSERT INTO search_stats (user_id, docs, total_length) VALUES (:u, :n, 0) "
                                  "ON CONFLICT (user_id) DO UPDATE SET docs = search_stats.docs + :n"),
                             {"u": user_id, "n": size})


def synthetic_docs(n: int, user_id: str, rng: Any) -> list[dict[str, Any]]:
    names = list(CATEGORIES)
    docs = []
    for _ in range(n):
        category = names[rng.integers(len(names))]
        words = CATEGORIES[category].split()
        pick = [words[i] for i in rng.choice(len(words), 3, replace=False)]
        adj = FILLER[rng.integers(len(FILLER))]
        analysis = {
            "category": category, "subcategories": [pick[0]],
            "headline": f"{adj.title()} {pick[0]} and {pick[1]}",
            "summary": f"A {adj} photo of a {pick[0]} near a {pick[1]} with a {pick[2]}.",
            "image_details": {"extracted_text": "", "objects": pick, "themes": [category, adj]},
            "media_metadata": {},
        }
        docs.append({"item_id": uuid.uuid4().hex, "user_id": user_id, "analysis": analysis})
    return docs


def clustered_vectors(n: int, dims: int, clusters: int, rng: Any, noise: float = 0.35) -> tuple[Any, Any]:
    """Unit vectors around ``clusters`` random centroids; returns (vectors, centroids)."""
    import numpy as np

    centroids = rng.standard_normal((clusters, dims)).astype("float32")
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    labels = rng.integers(clusters, size=n)
    vectors = centroids[labels] + rng.standard_normal((n, dims)).astype("float32") * (noise / dims ** 0.5)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors, centroids
