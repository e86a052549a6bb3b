"""POST /search: validation, keyword / vector / hybrid ranking, category filter, top_k, the
HNSW path for large collections, and reciprocal rank fusion."""

from __future__ import annotations

import json

import pytest

from chalicelib.collections.search import reciprocal_rank_fusion
from tests.collections import images
from tests.collections.conftest import search, upload
from tests.conftest import auth_headers


@pytest.mark.parametrize(("body", "field"), [
    ({}, "query"), ({"query": "  "}, "query"), ({"query": "x" * 1001}, "query"),
    ({"query": "a", "mode": "fuzzy"}, "mode"), ({"query": "a", "top_k": 0}, "top_k"),
    ({"query": "a", "top_k": 51}, "top_k"), ({"query": "a", "top_k": "5"}, "top_k"),
    ({"query": "a", "top_k": True}, "top_k"), ({"query": "a", "category": 3}, "category"),
])
def test_validation_names_the_field(client, user, body, field) -> None:  # noqa: ANN001
    response = client.http.post("/search", headers=auth_headers(user), body=json.dumps(body))
    assert response.status_code == 400, response.body
    assert response.json_body["error"]["field"] == field


@pytest.fixture()
def collection(client, runtime, fakes, user) -> dict[str, str]:  # noqa: ANN001
    ids = {color: upload(client, user, images.jpeg((500, 400), color)) for color in ("red", "green", "blue")}
    runtime.drain()
    return ids


def _ids(response) -> list[str]:  # noqa: ANN001
    assert response.status_code == 200, response.body
    return [result["item_id"] for result in response.json_body["results"]]


def test_keyword_search_uses_full_text_with_stemming(client, user, collection) -> None:  # noqa: ANN001
    assert _ids(search(client, user, query="hiking forests", mode="keyword")) == [collection["green"]]
    assert _ids(search(client, user, query='soup -forest', mode="keyword")) == [collection["red"]]
    assert _ids(search(client, user, query="beach OR soup", mode="keyword")) != []
    assert _ids(search(client, user, query="helicopter", mode="keyword")) == []


def test_vector_search_ranks_by_cosine_similarity(client, user, collection) -> None:  # noqa: ANN001
    response = search(client, user, query="sandy ocean beach waves", mode="vector", top_k=3)
    ranked = _ids(response)
    assert ranked[0] == collection["blue"] and len(ranked) == 3
    scores = [r["score"] for r in response.json_body["results"]]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]
    assert _ids(search(client, user, query="sandy ocean beach waves", mode="vector", top_k=1)) == [collection["blue"]]


def test_hybrid_fuses_both_and_category_filters(client, user, collection) -> None:  # noqa: ANN001
    response = search(client, user, query="tomato soup bowl", top_k=3)
    assert response.json_body["mode"] == "hybrid"
    ranked = _ids(response)
    assert ranked[0] == collection["red"]
    top = response.json_body["results"][0]
    assert top["category"] == "food" and top["headline"] == "A bowl of tomato soup" and top["summary"]
    assert _ids(search(client, user, query="tomato soup bowl", category="nature")) == [collection["green"]]


def test_large_collections_use_the_hnsw_index(client, user, collection, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("VECTOR_EXACT_SEARCH_MAX_ROWS", "0")  # every user counts as "large"
    from chalicelib import settings

    settings.get_settings.cache_clear()
    ranked = _ids(search(client, user, query="pine forest trail", mode="vector", top_k=3))
    assert ranked[0] == collection["green"] and len(ranked) == 3


def test_vector_plan_uses_the_hnsw_index(pg_url) -> None:  # noqa: ANN001
    from sqlalchemy import text

    from chalicelib.db.engine import get_engine

    vector = "[" + ",".join(["0.1"] * 1024) + "]"
    with get_engine(pg_url).begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(row[0] for row in conn.execute(text(
            "EXPLAIN SELECT item_id FROM embeddings ORDER BY vector <=> CAST(:v AS vector) LIMIT 10"), {"v": vector}))
    assert "ix_embeddings_vector_hnsw" in plan, plan


def test_reciprocal_rank_fusion() -> None:
    keyword = [("a", 9.0), ("b", 5.0)]
    vector = [("b", 0.9), ("c", 0.8), ("a", 0.1)]
    fused = reciprocal_rank_fusion(keyword, vector)
    assert [item for item, _ in fused] == ["b", "a", "c"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)
