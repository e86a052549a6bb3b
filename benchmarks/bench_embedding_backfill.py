"""Embedding backfill: N analyses without embeddings, embedded in batches of 128 (ours) vs one
provider call per analysis (what replaying N AnalysisComplete events through the embedder does).

Runs on a throwaway embedded PostgreSQL with a counting embedder (deterministic 1024-d vectors),
so the figures are provider calls and the database/CPU time around them; each real Voyage call
adds a network round trip on top. Run: /work/main/.venv/bin/python benchmarks/bench_embedding_backfill.py [N]
"""

from __future__ import annotations

import hashlib
import math
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = ("ocean beach soup forest trail receipt invoice cat dog sofa mountain city night street coffee "
         "menu whiteboard diagram screenshot chart sunset bridge car bicycle garden flower").split()


@dataclass
class _Result:
    vectors: list[list[float]]
    model: str = "counting-embedder"
    dimensions: int = 1024
    provider_used: str = "counting"


class CountingEmbedder:
    """Counts calls and documents; vectors are hashed words (no network)."""

    def __init__(self) -> None:
        self.calls = 0
        self.documents = 0

    def embed(self, texts: list[str], input_type: str = "document") -> _Result:
        self.calls += 1
        self.documents += len(texts)
        vectors = []
        for text_ in texts:
            vector = [0.0] * 1024
            for word in text_.lower().split():
                vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % 1024] += 1.0
            norm = math.sqrt(sum(v * v for v in vector)) or 1.0
            vectors.append([v / norm for v in vector])
        return _Result(vectors)


def seed_analyses(engine, user_id: str, count: int) -> list[str]:  # noqa: ANN001 - SQLAlchemy Engine
    """``count`` items, each with one current analysis and no embedding; returns analysis ids."""
    from chalicelib.collections.tables import analyses, items

    item_rows, analysis_rows, ids = [], [], []
    for n in range(count):
        item_id, analysis_id = str(uuid.uuid4()), str(uuid.uuid4())
        words = [WORDS[(n * 7 + k) % len(WORDS)] for k in range(6)]
        raw = {"category": words[0], "subcategories": words[1:2], "headline": " ".join(words[:4]),
               "summary": f"A picture of {' and '.join(words)}.",
               "image_details": {"extracted_text": "", "objects": words[2:5], "themes": words[4:]},
               "media_metadata": {"image_type": "photo"}}
        item_rows.append({"id": item_id, "user_id": user_id, "filename": f"{n}.jpg",
                          "file_path": f"{user_id}/{item_id}.jpg", "mime_type": "image/jpeg",
                          "status": "processing", "current_analysis_id": analysis_id})
        analysis_rows.append({"id": analysis_id, "item_id": item_id, "user_id": user_id, "version": 1,
                              "request_id": f"seed:{analysis_id}", "category": words[0],
                              "headline": raw["headline"], "summary": raw["summary"], "raw_response": raw})
        ids.append(analysis_id)
    with engine.begin() as conn:
        conn.execute(items.insert(), item_rows)  # current_analysis_id's FK is deferred to commit
        conn.execute(analyses.insert(), analysis_rows)
    return ids


def main() -> None:
    from chalicelib.collections.embedding import backfill_embeddings, embed_analysis
    from chalicelib.collections.repository import CollectionsRepository
    from chalicelib.db.embedded import embedded_postgres_url
    from chalicelib.db.migrate import upgrade

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as data_dir:
        url = embedded_postgres_url(Path(data_dir), database="bench_backfill")
        engine = upgrade(url)

        repository = CollectionsRepository(engine)
        ours = CountingEmbedder()
        seed_analyses(engine, "bench-batched", count)
        started = time.perf_counter()
        report = backfill_embeddings(repository, ours)
        ours_seconds = time.perf_counter() - started
        assert report.embedded == count and report.calls == ours.calls == math.ceil(count / 128)

        baseline = CountingEmbedder()
        ids = seed_analyses(engine, "bench-one-by-one", count)
        started = time.perf_counter()
        for analysis_id in ids:
            embed_analysis(repository=repository, embedder=baseline, analysis_id=analysis_id, user_id="bench-one-by-one")
        baseline_seconds = time.perf_counter() - started
        assert baseline.documents == count
        engine.dispose()

    print(f"embedding backfill of {count} analyses (counting embedder, embedded PostgreSQL)")
    print(f"{'':26}{'ours (batch 128)':>18}{'one call each':>16}{'ratio':>10}")
    print(f"{'provider calls':26}{ours.calls:>18}{baseline.calls:>16}{baseline.calls / ours.calls:>9.0f}x fewer")
    print(f"{'wall time (s)':26}{ours_seconds:>18.2f}{baseline_seconds:>16.2f}"
          f"{baseline_seconds / ours_seconds:>9.2f}x faster")
    print(f"{'  + at 150 ms per call (s)':26}{ours_seconds + ours.calls * 0.15:>18.2f}"
          f"{baseline_seconds + baseline.calls * 0.15:>16.2f}"
          f"{(baseline_seconds + baseline.calls * 0.15) / (ours_seconds + ours.calls * 0.15):>9.1f}x faster")


if __name__ == "__main__":
    main()
