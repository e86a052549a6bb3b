"""Collections search latency, measured through the real search functions on the real schema
(embedded PostgreSQL 16 + pgvector), the query embedding precomputed (its API call excluded).

Part 1, 10k items of one user (plus other users' rows): keyword (full text, GIN) and hybrid
(RRF of keyword + vector) p50/p99 against a naive ILIKE scan. Goal: p50 <= 10 ms each.
Part 2, N clustered 1024-d vectors (default 100k) of one user: HNSW (m=16, ef_construction=64)
p50/p99 and recall@10 against exact search. Goal: p50 <= 10 ms, recall@10 >= 0.95.

    .venv/bin/python benchmarks/bench_search.py [--items 10000] [--vectors 100000] [--queries 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._collections_data import CATEGORIES, clustered_vectors, load, synthetic_docs  # noqa: E402
from benchmarks._support import embedded_database  # noqa: E402


def timed(fn, runs):  # noqa: ANN001, ANN201
    samples = []
    for arg in runs:
        started = time.perf_counter()
        fn(arg)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), sorted(samples)[max(0, int(len(samples) * 0.99) - 1)]


def part1(engine, items: int, queries: int, rng) -> None:  # noqa: ANN001
    from sqlalchemy import text

    from chalicelib.collections.search import keyword_ranked, reciprocal_rank_fusion, vector_ranked
    from chalicelib.providers.offline import OfflineEmbedder

    user = "bench-user"
    docs = synthetic_docs(items, user, rng) + synthetic_docs(items // 5, "other-user", rng)
    embedder = OfflineEmbedder()
    print(f"part 1: loading {len(docs)} items with analyses and embeddings ...", flush=True)
    vectors = []
    for start in range(0, len(docs), 512):
        vectors.extend(embedder.embed([d["analysis"]["summary"] for d in docs[start:start + 512]]).vectors)
    load(engine, docs, vectors)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    words = " ".join(CATEGORIES.values()).split()
    phrases = [f"{words[rng.integers(len(words))]} {words[rng.integers(len(words))]}" for _ in range(queries)]
    query_vectors = dict(zip(phrases, embedder.embed(phrases, input_type="query").vectors, strict=True))

    def keyword(q: str) -> None:
        with engine.begin() as conn:
            keyword_ranked(conn, user, q, 10)

    def hybrid(q: str) -> None:
        with engine.begin() as conn:
            reciprocal_rank_fusion(keyword_ranked(conn, user, q, 30), vector_ranked(conn, user, query_vectors[q], 30))

    def ilike(q: str) -> None:
        first = q.split()[0]
        with engine.begin() as conn:
            conn.execute(text("SELECT item_id FROM analyses WHERE user_id = :u AND (headline ILIKE :p OR summary "
                              "ILIKE :p OR raw_response::text ILIKE :p) LIMIT 10"), {"u": user, "p": f"%{first}%"})

    for warm in (keyword, hybrid, ilike):
        warm(phrases[0])
    k50, k99 = timed(keyword, phrases)
    h50, h99 = timed(hybrid, phrases)
    b50, b99 = timed(ilike, phrases)
    print(f"\n{items} items for one user (+{items // 5} of another), {queries} queries")
    print(f"{'':30}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'keyword (tsvector + GIN)':30}{k50:>10.2f}{k99:>10.2f}")
    print(f"{'hybrid (RRF keyword+vector)':30}{h50:>10.2f}{h99:>10.2f}")
    print(f"{'baseline: ILIKE scan':30}{b50:>10.2f}{b99:>10.2f}")
    print(f"keyword vs ILIKE p50: {b50 / k50:.1f}x faster; goal p50 <= 10 ms: keyword "
          f"{'OK' if k50 <= 10 else 'OVER'}, hybrid {'OK' if h50 <= 10 else 'OVER'}")


def part2(engine, n: int, queries: int, rng) -> None:  # noqa: ANN001
    from sqlalchemy import text

    from chalicelib.collections.search import vector_ranked

    user = "vector-user"
    print(f"\npart 2: loading {n} clustered 1024-d vectors ...", flush=True)
    vectors, centroids = clustered_vectors(n, 1024, 50, rng)
    docs = synthetic_docs(n, user, rng)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX IF EXISTS ix_embeddings_vector_hnsw"))
    load(engine, docs, vectors.tolist(), batch=10000)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("SET maintenance_work_mem = '2GB'"))
        conn.execute(text("SET max_parallel_maintenance_workers = 2"))
        conn.execute(text("CREATE INDEX ix_embeddings_vector_hnsw ON embeddings USING hnsw "
                          "(vector vector_cosine_ops) WITH (m = 16, ef_construction = 64)"))
        conn.execute(text("ANALYZE embeddings"))
    print(f"  HNSW index built in {time.perf_counter() - started:.0f} s", flush=True)
    import numpy as np

    qs = centroids[rng.integers(len(centroids), size=queries)]
    qs = qs + rng.standard_normal(qs.shape).astype("float32") * (0.35 / 32)
    qs = (qs / np.linalg.norm(qs, axis=1, keepdims=True)).tolist()
    results: dict[str, list] = {"hnsw": [], "exact": []}

    def hnsw(q):  # noqa: ANN001, ANN202
        with engine.begin() as conn:
            results["hnsw"].append([i for i, _ in vector_ranked(conn, user, q, 10, exact_max_rows=0)])

    def exact(q):  # noqa: ANN001, ANN202
        with engine.begin() as conn:
            results["exact"].append([i for i, _ in vector_ranked(conn, user, q, 10, exact_max_rows=10 ** 9)])

    hnsw(qs[0]), exact(qs[0])
    results = {"hnsw": [], "exact": []}
    h50, h99 = timed(hnsw, qs)
    e50, e99 = timed(exact, qs)
    recall = statistics.mean(len(set(a) & set(b)) / 10 for a, b in zip(results["hnsw"], results["exact"], strict=True))
    print(f"\n{n} clustered 1024-d vectors, {queries} queries, top 10")
    print(f"{'':30}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'HNSW (ours)':30}{h50:>10.2f}{h99:>10.2f}")
    print(f"{'exact scan (baseline)':30}{e50:>10.2f}{e99:>10.2f}")
    print(f"HNSW vs exact p50: {e50 / h50:.1f}x faster; recall@10 {recall:.3f}; goals p50 <= 10 ms "
          f"{'OK' if h50 <= 10 else 'OVER'}, recall >= 0.95 {'OK' if recall >= 0.95 else 'UNDER'}")


def main() -> None:
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    from chalicelib.db.engine import get_engine

    if args.items:
        part1(get_engine(embedded_database("bench_search")), args.items, args.queries, rng)
    if args.vectors:
        part2(get_engine(embedded_database("bench_vectors")), args.vectors, args.queries, rng)


if __name__ == "__main__":
    main()
