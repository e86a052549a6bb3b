"""Search the caller's items: keyword (PostgreSQL full text), vector (pgvector cosine over the
HNSW index) or hybrid (reciprocal rank fusion of both, k=60). Always on current analyses only,
always filtered to one user.

Vector search and per-user filtering: HNSW (pgvector 0.6, no iterative scans) returns the
``ef_search`` nearest rows of the whole table *before* the user filter, so a user who owns a
small share of the table could get fewer than ``top_k`` hits. A user with at most
``exact_max_rows`` embeddings is therefore searched exactly (their rows via the user_id index,
exact distances); larger collections use the HNSW index with ``ef_search`` raised for the
request and fall back to the exact scan when the filtered result comes back short.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, literal_column, select, text

from chalicelib.collections.tables import analyses, embeddings, items
from chalicelib.errors import BadRequest
from chalicelib.ports import BlobStore

MODES = ("keyword", "vector", "hybrid")
RRF_K = 60
MAX_TOP_K = 50
MAX_QUERY_LENGTH = 1000
DEFAULT_EXACT_MAX_ROWS = 5000


@dataclass(frozen=True)
class SearchRequest:
    query: str
    mode: str = "hybrid"
    top_k: int = 10
    category: str | None = None


def parse_search_request(body: Mapping[str, Any]) -> SearchRequest:
    """Validate ``POST /search``'s body; errors are 400s naming the field."""
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise BadRequest("query is required: the words to search for", field="query")
    if len(query) > MAX_QUERY_LENGTH:
        raise BadRequest(f"query is longer than {MAX_QUERY_LENGTH} characters", field="query")
    mode = body.get("mode", "hybrid")
    if mode not in MODES:
        raise BadRequest(f"mode must be one of {', '.join(MODES)}", field="mode")
    top_k = body.get("top_k", 10)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise BadRequest(f"top_k must be an integer from 1 to {MAX_TOP_K}", field="top_k")
    category = body.get("category")
    if category is not None and (not isinstance(category, str) or not category.strip() or len(category) > 100):
        raise BadRequest("category must be a non-empty string of at most 100 characters", field="category")
    return SearchRequest(query.strip(), mode, top_k, category.strip().lower() if category else None)


def keyword_ranked(conn: Connection, user_id: str, query: str, limit: int,
                   category: str | None = None) -> list[tuple[str, float]]:
    """(item_id, ts_rank_cd) of current analyses matching ``websearch_to_tsquery``."""
    tsquery = func.websearch_to_tsquery(literal_column("'english'"), query)
    score = func.ts_rank_cd(analyses.c.search_vector, tsquery)
    statement = (
        select(analyses.c.item_id, score.label("score"))
        .join(items, items.c.current_analysis_id == analyses.c.id)
        .where(analyses.c.user_id == user_id, analyses.c.search_vector.op("@@")(tsquery))
        .order_by(score.desc(), analyses.c.item_id)
        .limit(limit)
    )
    if category:
        statement = statement.where(analyses.c.category == category)
    return [(row.item_id, float(row.score)) for row in conn.execute(statement)]


def vector_ranked(conn: Connection, user_id: str, vector: Sequence[float], limit: int,
                  category: str | None = None,
                  exact_max_rows: int = DEFAULT_EXACT_MAX_ROWS) -> list[tuple[str, float]]:
    """(item_id, cosine similarity) of the nearest embeddings; run inside a transaction."""
    distance = embeddings.c.vector.cosine_distance(list(vector)).label("distance")
    # ORDER BY the label, so the 1024-d query vector is sent and parsed once, not twice.
    base = select(embeddings.c.item_id, distance).where(embeddings.c.user_id == user_id)
    if category:
        base = base.join(analyses, analyses.c.id == embeddings.c.analysis_id).where(analyses.c.category == category)
    # The HNSW index can only serve ORDER BY <distance> alone: a tie-breaker column would make
    # PostgreSQL sort every row exactly (found by benchmarks/bench_search.py).
    statement = base.order_by(distance).limit(limit)
    exact_statement = base.order_by(distance, embeddings.c.item_id).limit(limit)
    # Count the user's rows only up to the threshold: a full count costs ms at 100k rows.
    capped = select(embeddings.c.id).where(embeddings.c.user_id == user_id).limit(exact_max_rows + 1).subquery()
    owned = conn.execute(select(func.count()).select_from(capped)).scalar_one()
    if owned == 0:
        return []
    if owned > exact_max_rows:
        conn.execute(text(f"SET LOCAL hnsw.ef_search = {min(1000, max(40, limit * 10))}"))
        rows = conn.execute(statement).all()
        if len(rows) >= min(limit, owned):
            return [(row.item_id, 1.0 - float(row.distance)) for row in rows]
    conn.execute(text("SET LOCAL enable_indexscan = off"))  # exact: user_id bitmap scan, no HNSW
    rows = conn.execute(exact_statement).all()
    conn.execute(text("SET LOCAL enable_indexscan = on"))
    return [(row.item_id, 1.0 - float(row.distance)) for row in rows]


def reciprocal_rank_fusion(*rankings: Sequence[tuple[str, float]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Sum of 1/(k + rank) over the rankings an item appears in, best first."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, (item_id, _) in enumerate(ranking, start=1):
            scores[item_id] = scores.get(item_id, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def search(*, engine: Engine, embedder: Any, blobs: BlobStore, bucket: str, user_id: str,
           request: SearchRequest, exact_max_rows: int = DEFAULT_EXACT_MAX_ROWS) -> list[dict[str, Any]]:
    """Run ``request`` for ``user_id``: results with item id, score, category, headline,
    summary and a thumbnail URL."""
    candidates = request.top_k if request.mode != "hybrid" else max(request.top_k * 3, 30)
    query_vector = None
    if request.mode in ("vector", "hybrid"):
        query_vector = embedder.embed([request.query], input_type="query").vectors[0]
    with engine.begin() as conn:
        keyword: list[tuple[str, float]] = []
        vector: list[tuple[str, float]] = []
        if request.mode in ("keyword", "hybrid"):
            keyword = keyword_ranked(conn, user_id, request.query, candidates, request.category)
        if query_vector is not None:
            vector = vector_ranked(conn, user_id, query_vector, candidates, request.category, exact_max_rows)
        if request.mode == "keyword":
            ranked = keyword
        elif request.mode == "vector":
            ranked = vector
        else:
            ranked = reciprocal_rank_fusion(keyword, vector)[: request.top_k]
        return _hydrate(conn, blobs, bucket, user_id, ranked)


def _hydrate(conn: Connection, blobs: BlobStore, bucket: str, user_id: str,
             ranked: Sequence[tuple[str, float]]) -> list[dict[str, Any]]:
    if not ranked:
        return []
    rows = conn.execute(
        select(items.c.id, items.c.thumbnail_path, analyses.c.category, analyses.c.headline, analyses.c.summary)
        .join(analyses, analyses.c.id == items.c.current_analysis_id)
        .where(items.c.user_id == user_id, items.c.id.in_([item_id for item_id, _ in ranked]))
    ).mappings()
    by_id = {row["id"]: row for row in rows}
    results = []
    for item_id, score in ranked:
        row = by_id.get(item_id)
        if row is None:
            continue
        results.append({
            "item_id": item_id,
            "score": round(score, 6),
            "category": row["category"],
            "headline": row["headline"],
            "summary": row["summary"],
            "thumbnail_url": blobs.presigned_get(bucket, row["thumbnail_path"]) if row["thumbnail_path"] else None,
        })
    return results
