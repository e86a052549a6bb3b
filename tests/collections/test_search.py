"""POST /search: validation, BM25F keyword ranking (OR matching, idf, stemming, accents, typos and
prefixes, meaning expansion of absent words, question-style queries, document frequencies),
relevance floors and ``min_score``, vector search compared only with the query model's vectors,
hybrid fusion, the HNSW path, and isolation between users."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from chalicelib.collections.search import edit_distance, reciprocal_rank_fusion, strip_question_words
from tests.collections import images
from tests.collections.conftest import search, upload
from tests.collections.fakes import FakeLLM, Result
from tests.conftest import auth_headers


@pytest.mark.parametrize(("body", "field"), [
    ({}, "query"), ({"query": "  "}, "query"), ({"query": "x" * 1001}, "query"),
    ({"query": "a", "mode": "fuzzy"}, "mode"), ({"query": "a", "top_k": 0}, "top_k"),
    ({"query": "a", "top_k": 51}, "top_k"), ({"query": "a", "top_k": "5"}, "top_k"),
    ({"query": "a", "top_k": True}, "top_k"), ({"query": "a", "category": 3}, "category"),
    ({"query": "a", "min_score": "0.5"}, "min_score"), ({"query": "a", "min_score": True}, "min_score"),
    ({"query": "a", "min_score": 1.5}, "min_score"), ({"query": "a", "min_score": -2}, "min_score"),
])
def test_validation_names_the_field(client, user, body, field) -> None:  # noqa: ANN001
    response = client.http.post("/search", headers=auth_headers(user), body=json.dumps(body))
    assert response.status_code == 400, response.body
    assert response.json_body["error"]["field"] == field


def _analysis(category: str, headline: str, summary: str, text: str = "", objects: tuple = (),
              themes: tuple = (), location: str | None = None) -> dict[str, Any]:
    return {"category": category, "subcategories": [], "headline": headline, "summary": summary,
            "image_details": {"extracted_text": text, "objects": list(objects), "themes": list(themes)},
            "media_metadata": {"image_type": "photo", "location": location}}


# The collection these tests search, told apart by the uploaded image's width.
SCRIPT = {
    "teamlab": _analysis("travel", "Immersive digital art room", "Projected flowers glow on the walls of a dark "
                         "exhibition room; a sign reads teamLab Forest.", "teamLab Forest FUKUOKA EXIT",
                         ("projection", "sign"), ("immersive art", "museum"), "Fukuoka, Japan"),
    "ramen": _analysis("food", "Tonkotsu ramen in a solo booth", "Instagram post of a bowl of ramen with chashu "
                       "pork at a counter booth.", "9:41 LTE 87% foodie.kyushu #ramen #hakata", ("bowl", "noodles"),
                       ("japanese food",), "Fukuoka, Japan"),
    "pasteis": _analysis("food", "Box of custard tarts", "Six custard tarts with cinnamon packets.",
                         "Pastéis de Belém desde 1837", ("pastries", "box"), ("dessert",), "Lisbon, Portugal"),
    "pills": _analysis("documents", "Pharmacy label on a pill bottle", "Dosage instructions for capsules.",
                       "AMOXICILLIN 500MG CAP TAKE 1 CAPSULE 3 TIMES DAILY", ("pill bottle",), ("health",)),
    "okonomi": _analysis("food", "Savoury pancake on a hot griddle", "A cook flips a cabbage pancake.",
                         "okonomiyaki ¥900", ("griddle", "spatula"), ("street food",), "Osaka, Japan"),
    "dog": _analysis("pets", "Golden retriever runs on the beach", "A wet dog running along the shoreline with "
                     "a stick in its mouth.", "", ("dog", "stick", "waves"), ("pet", "play")),
    "cafe": _analysis("food", "Croissant and coffee on a terrace", "Breakfast at a French café on a marble table.",
                      "CAFÉ DE FLORE", ("croissant", "cup"), ("breakfast",), "Paris, France"),
}
WIDTHS = {name: 300 + 20 * index for index, name in enumerate(SCRIPT)}


class ScriptedLLM(FakeLLM):
    """Answers with the scripted analysis whose width matches the image (thumbnails of these
    small uploads keep their size)."""

    def complete_json(self, *, images: list | None = None, **kwargs: Any) -> Result:
        from PIL import Image

        with Image.open(io.BytesIO(images[0]["data"])) as im:
            width = im.size[0]
        name = next(name for name, w in WIDTHS.items() if w == width)
        return Result(SCRIPT[name])


@pytest.fixture()
def scripted(client, runtime, override_adapters, fake_embedder, user) -> dict[str, str]:  # noqa: ANN001
    llm = ScriptedLLM()
    override_adapters(llm=llm)
    ids = {name: upload(client, user, images.jpeg((width, 200), "red")) for name, width in WIDTHS.items()}
    runtime.drain()
    return ids


def _ids(response) -> list[str]:  # noqa: ANN001
    assert response.status_code == 200, response.body
    return [result["item_id"] for result in response.json_body["results"]]


def _first(client, user: str, query: str, mode: str = "keyword", **body: Any) -> str | None:  # noqa: ANN001
    ranked = _ids(search(client, user, query=query, mode=mode, **body))
    return ranked[0] if ranked else None


def test_any_query_word_can_match(client, user, scripted) -> None:  # noqa: ANN001
    # "museum" and "digital" are in the analysis, "TeamLab" and "Fukuoka" too; "gallery" is not.
    assert _first(client, user, "TeamLab digital art gallery museum Fukuoka") == scripted["teamlab"]


def test_rarer_words_weigh_more(client, user, scripted) -> None:  # noqa: ANN001
    # "food" is in three analyses, "griddle" in one: the griddle item wins.
    assert _first(client, user, "food griddle") == scripted["okonomi"]
    results = search(client, user, query="food griddle", mode="keyword", min_score=0).json_body["results"]
    assert len(results) >= 3 and results[0]["score"] > results[1]["score"]


def test_stemming(client, user, scripted) -> None:  # noqa: ANN001
    assert _first(client, user, "dogs running on beaches") == scripted["dog"]


def test_accents_are_folded_both_ways(client, user, scripted) -> None:  # noqa: ANN001
    assert _first(client, user, "pasteis de belem") == scripted["pasteis"]
    assert _first(client, user, "Café de Flore") == scripted["cafe"]
    assert _first(client, user, "cafe de flore") == scripted["cafe"]


def test_misspelt_and_partial_words_still_find_their_item(client, user, scripted) -> None:  # noqa: ANN001
    assert _first(client, user, "amoxicilin dosage") == scripted["pills"]  # one letter missing
    assert _first(client, user, "okonomi") == scripted["okonomi"]  # the start of a word
    assert _first(client, user, "900yen") == scripted["okonomi"]  # a number with its unit: "¥900"
    assert _first(client, user, "ramne") == scripted["ramen"]  # two letters swapped


def test_a_four_letter_word_is_not_read_as_a_typo(client, user, scripted) -> None:  # noqa: ANN001
    # "york" is one edit from the ramen item's "pork", as most short words are from some other word.
    assert _ids(search(client, user, query="york", mode="keyword", min_score=0)) == []


def test_a_partial_word_scores_an_item_once_however_many_of_its_completions_it_holds(
        client, user, scripted) -> None:  # noqa: ANN001
    # "past" completes to two words of the pasteis item ("Pastéis", "pastries"): the best of them
    # counts, so the normalised score stays at most 1 and under a word found as typed.
    results = search(client, user, query="past", mode="keyword", min_score=0).json_body["results"]
    assert [r["item_id"] for r in results] == [scripted["pasteis"]] and 0 < results[0]["score"] < 1


def test_a_word_the_collection_lacks_finds_terms_of_similar_meaning(client, user, scripted) -> None:  # noqa: ANN001
    pytest.importorskip("wordllama")
    # No analysis says "puppy" (nor a word spelt like it); the dog item's "dog" is nearest in meaning.
    assert _first(client, user, "puppy") == scripted["dog"]
    assert _first(client, user, "puppy playing at the beach") == scripted["dog"]
    # A meaning match counts for less than a word found as typed ("griddle": one item, like "dog").
    ranked = _ids(search(client, user, query="puppy griddle", mode="keyword", min_score=0))
    assert ranked[:2] == [scripted["okonomi"], scripted["dog"]]
    # A word with nothing near it in meaning still finds nothing.
    assert _ids(search(client, user, query="helicopter", mode="keyword", min_score=0)) == []


def test_a_word_sharing_only_word_pieces_with_a_term_is_not_of_similar_meaning(
        client, user, scripted) -> None:  # noqa: ANN001
    pytest.importorskip("wordllama")
    # WordLlama finds "snorkeling" near "pork" and "another" near "booth" (the ramen item) through
    # the pieces they share ("ork", "oth"); what they do not share is unrelated, so neither matches.
    for word in ("snorkeling", "another"):
        assert _ids(search(client, user, query=word, mode="keyword", min_score=0)) == [], word


def _df_mismatches(user: str) -> int:
    """Vocabulary rows whose df differs from the number of the term's postings."""
    from sqlalchemy import text

    from chalicelib import wiring

    with wiring.engine().connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM search_vocabulary v WHERE v.user_id = :u AND v.df <> "
            "(SELECT count(*) FROM search_terms t WHERE t.user_id = v.user_id AND t.term = v.term)"), {"u": user}).scalar()


def test_question_style_queries_work_like_keywords(client, user, scripted) -> None:  # noqa: ANN001
    question = search(client, user, query="where did I see the ramen place in Fukuoka?", mode="keyword")
    keywords = search(client, user, query="ramen Fukuoka", mode="keyword")
    assert _ids(question)[0] == _ids(keywords)[0] == scripted["ramen"]
    assert question.json_body["results"][0]["score"] == pytest.approx(keywords.json_body["results"][0]["score"])
    assert strip_question_words("show me the photos of my dog") == "me the of my dog"


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_no_answer_is_an_empty_list_and_min_score_overrides_the_floor(client, user, scripted, mode) -> None:  # noqa: ANN001
    assert _ids(search(client, user, query="helicopter tennis racket", mode=mode)) == []
    # One weak shared word: below the floor by default, returned when the caller lowers it.
    weak = "flowers for the wedding in Vienna"
    assert _ids(search(client, user, query=weak, mode=mode)) == []
    assert scripted["teamlab"] in _ids(search(client, user, query=weak, mode=mode, min_score=0.0))
    strong = search(client, user, query="Pastéis de Belém custard tarts", mode=mode)
    assert _ids(strong)[0] == scripted["pasteis"] and 0 < strong.json_body["results"][0]["score"] <= 1
    assert _ids(search(client, user, query="Pastéis de Belém custard tarts", mode=mode, min_score=1.0)) == []


def test_keyword_scores_are_normalised(client, user, scripted) -> None:  # noqa: ANN001
    results = search(client, user, query="pasteis de belem custard tarts", mode="keyword").json_body["results"]
    assert 0.5 < results[0]["score"] <= 1.0


def test_a_new_analysis_replaces_the_indexed_words(client, user, scripted) -> None:  # noqa: ANN001
    from sqlalchemy import text

    from chalicelib import wiring

    with wiring.engine().begin() as conn:
        conn.execute(text(
            "INSERT INTO analyses (id, item_id, user_id, version, request_id, category, headline, summary, raw_response)"
            " VALUES ('a2-' || :item, :item, :user, 2, 'test:' || :item, 'food', 'Bowl of pho', 'Vietnamese soup',"
            " '{}'::jsonb)"), {"item": scripted["ramen"], "user": user})
        conn.execute(text("UPDATE items SET current_analysis_id = 'a2-' || id WHERE id = :item"),
                     {"item": scripted["ramen"]})
    assert _first(client, user, "vietnamese pho") == scripted["ramen"]
    assert scripted["ramen"] not in _ids(search(client, user, query="tonkotsu chashu", mode="keyword", min_score=0))
    assert _df_mismatches(user) == 0  # document frequencies follow the re-indexing


def test_a_hyphenated_compound_is_found_written_as_one_word(client, user, scripted) -> None:  # noqa: ANN001
    from sqlalchemy import text

    from chalicelib import wiring

    with wiring.engine().begin() as conn:
        conn.execute(text(
            "INSERT INTO analyses (id, item_id, user_id, version, request_id, category, headline, summary, raw_response)"
            " VALUES ('a2-' || :item, :item, :user, 2, 'test:' || :item, 'screenshots', 'Hotel Wi-Fi password',"
            " 'A card with the network name', '{}'::jsonb)"), {"item": scripted["cafe"], "user": user})
        conn.execute(text("UPDATE items SET current_analysis_id = 'a2-' || id WHERE id = :item"),
                     {"item": scripted["cafe"]})
    one_word = search(client, user, query="wifi password", mode="keyword").json_body["results"]
    hyphenated = search(client, user, query="wi-fi password", mode="keyword").json_body["results"]
    assert one_word[0]["item_id"] == hyphenated[0]["item_id"] == scripted["cafe"]
    # The same word, not a typo at half weight: a headline "Wi-Fi" outweighs the dog item's
    # "shoreline" (summary only), as an exactly spelt headline word would.
    assert _first(client, user, "wifi shoreline", min_score=0) == scripted["cafe"]


def test_deleting_an_item_removes_it_from_the_index_and_the_counts(client, user, scripted) -> None:  # noqa: ANN001
    from sqlalchemy import text

    from chalicelib import wiring

    def stats() -> tuple[int, float]:
        with wiring.engine().connect() as conn:
            return tuple(conn.execute(text("SELECT docs, total_length FROM search_stats WHERE user_id = :u"),
                                      {"u": user}).one())

    docs, length = stats()
    assert docs == len(SCRIPT) and length > 0
    response = client.http.delete(f"/items/{scripted['okonomi']}", headers=auth_headers(user))
    assert response.status_code == 204, response.body
    assert _ids(search(client, user, query="okonomiyaki griddle", mode="keyword", min_score=0)) == []
    assert stats()[0] == len(SCRIPT) - 1 and stats()[1] < length
    assert _df_mismatches(user) == 0  # the cascade's postings are uncounted too


@pytest.fixture()
def collection(client, runtime, fakes, user) -> dict[str, str]:  # noqa: ANN001
    ids = {color: upload(client, user, images.jpeg((500, 400), color)) for color in ("red", "green", "blue")}
    runtime.drain()
    return ids


def test_vector_search_ranks_by_cosine_similarity(client, user, collection) -> None:  # noqa: ANN001
    response = search(client, user, query="sandy ocean beach waves", mode="vector", top_k=3, min_score=-1)
    ranked = _ids(response)
    assert ranked[0] == collection["blue"] and len(ranked) == 3
    scores = [r["score"] for r in response.json_body["results"]]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]
    assert _ids(search(client, user, query="sandy ocean beach waves", mode="vector", top_k=1)) == [collection["blue"]]


def test_vectors_of_another_model_are_never_compared(client, user, collection, fake_embedder) -> None:  # noqa: ANN001
    from sqlalchemy import update

    from chalicelib import wiring
    from chalicelib.collections.tables import embeddings

    query = "sandy ocean beach waves"
    exact = fake_embedder.embed([query]).vectors[0]
    # The red item's vector becomes the query itself (cosine 1), but stored under another model.
    with wiring.engine().begin() as conn:
        conn.execute(update(embeddings).where(embeddings.c.item_id == collection["red"])
                     .values(vector=exact, embedding_model="other-model"))
    ranked = _ids(search(client, user, query=query, mode="vector", top_k=3, min_score=-1))
    assert collection["red"] not in ranked and ranked[0] == collection["blue"]
    with wiring.engine().begin() as conn:  # same model, other dimensions: still not compared
        conn.execute(update(embeddings).where(embeddings.c.item_id == collection["red"])
                     .values(embedding_model="fake-embed", embedding_dimensions=512))
    assert collection["red"] not in _ids(search(client, user, query=query, mode="vector", min_score=-1))
    with wiring.engine().begin() as conn:  # back to the query's model: now it is the best match
        conn.execute(update(embeddings).where(embeddings.c.item_id == collection["red"])
                     .values(embedding_dimensions=1024))
    assert _ids(search(client, user, query=query, mode="vector", top_k=3, min_score=-1))[0] == collection["red"]
    # Hybrid during a re-embedding: an item without a vector of the current model keeps its keyword score.
    with wiring.engine().begin() as conn:
        conn.execute(update(embeddings).where(embeddings.c.item_id == collection["red"])
                     .values(embedding_model="other-model"))
    assert _first(client, user, "tomato soup basil", mode="hybrid") == collection["red"]


def test_changing_the_embedding_model_is_a_resumable_reembedding(client, user, collection,  # noqa: ANN001
                                                                  override_adapters) -> None:  # noqa: ANN001
    from chalicelib.collections.embedding import reembed
    from chalicelib.collections.handlers import repository
    from tests.collections.fakes import FakeEmbedder

    class NewModel(FakeEmbedder):
        model, dimensions = "fake-embed-v2", 1024

        def embed(self, texts: list[str], input_type: str = "document") -> Any:
            result = super().embed(texts, input_type)
            result.model = self.model
            return result

    new = NewModel()
    override_adapters(embedder=new)
    query = "sandy ocean beach waves"
    assert _ids(search(client, user, query=query, mode="vector", min_score=-1)) == []  # nothing of the new model yet
    assert _first(client, user, "ocean beach", mode="hybrid") == collection["blue"]  # keyword covers the rest
    seen: list[tuple[int, int]] = []
    first = reembed(repository(), new, batch_size=1, limit=1, user_id=user, progress=lambda *p: seen.append(p))
    assert (first.reembedded, first.remaining, seen) == (1, 2, [(1, 1)])  # "interrupted" after one batch
    assert len(_ids(search(client, user, query=query, mode="vector", min_score=-1))) == 1
    second = reembed(repository(), new, batch_size=2, user_id=user)
    assert (second.reembedded, second.calls, second.remaining) == (2, 1, 0)
    assert _ids(search(client, user, query=query, mode="vector", min_score=-1))[0] == collection["blue"]
    assert reembed(repository(), new, user_id=user).calls == 0  # nothing left: a re-run is a no-op


def test_hybrid_fuses_both_and_category_filters(client, user, collection) -> None:  # noqa: ANN001
    response = search(client, user, query="tomato soup bowl", top_k=3)
    assert response.json_body["mode"] == "hybrid"
    ranked = _ids(response)
    assert ranked[0] == collection["red"]
    top = response.json_body["results"][0]
    assert top["category"] == "food" and top["headline"] == "A bowl of tomato soup" and top["summary"]
    assert _ids(search(client, user, query="tomato soup bowl", category="nature", min_score=0)) == [collection["green"]]
    assert _ids(search(client, user, query="tomato soup bowl", category="nature")) == []  # under the floor


def test_other_users_items_are_never_found(client, user, collection) -> None:  # noqa: ANN001
    stranger = "stranger-" + user
    for mode in ("keyword", "vector", "hybrid"):
        assert _ids(search(client, stranger, query="tomato soup bowl", mode=mode, min_score=-1)) == []
        assert collection["red"] in _ids(search(client, user, query="tomato soup bowl", mode=mode, min_score=-1))


def test_large_collections_use_the_hnsw_index(client, user, collection, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("VECTOR_EXACT_SEARCH_MAX_ROWS", "0")  # every user counts as "large"
    from chalicelib import settings

    settings.get_settings.cache_clear()
    ranked = _ids(search(client, user, query="pine forest trail", mode="vector", top_k=3, min_score=-1))
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
    assert [item for item, _ in reciprocal_rank_fusion(keyword, vector, weights=[3, 1])][0] == "a"


def test_edit_distance() -> None:
    assert edit_distance("amoxicilin", "amoxicillin", 2) == 1
    assert edit_distance("raemn", "ramen", 1) == 1  # a transposition counts once
    assert edit_distance("lesson", "lemon", 1) == 2  # over the limit: limit + 1
