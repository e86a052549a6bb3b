"""Part of the search index's SQL module (it reads ``search_vocabulary``): keyword search's
meaning-based expansion. A query word the user's collection never uses ("workouts",
"streetcar") is matched to the collection's nearest indexed terms ("exercis",
"tram") by WordLlama's static token embeddings, the offline embedder's weights shipped in the
``wordllama`` wheel (nothing downloaded, no provider call, no query embedding).

Only the user's own vocabulary (``search_vocabulary``) is searched, so a neighbour always has
postings of that user. Its vectors are kept per process, per user, for ``CACHE_SECONDS``
(terms indexed since then are found after the cache expires). Where ``wordllama`` is not
installed (the Lambda package), there is no expansion and keyword search works as before.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from sqlalchemy import Connection, text

from chalicelib.providers.static_embedder import _load_wordllama

CACHE_SECONDS = 60.0
CACHE_USERS = 8

# Terms with postings, each with the word of the analyses it stems from ("exercis": "exercise").
_VOCABULARY = text("""
    SELECT term, coalesce(word, term) AS word FROM search_vocabulary
    WHERE user_id = :user_id AND df > 0 AND length(term) >= 3
""")

_lock = threading.Lock()
_cache: OrderedDict[str, tuple[float, list[str], Any]] = OrderedDict()


def _vocabulary(conn: Connection, model: Any, user_id: str) -> tuple[list[str], Any]:
    """The user's indexed terms (not numbers) and the unit vectors of their words, cached."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(user_id)
        if hit and now - hit[0] < CACHE_SECONDS:
            _cache.move_to_end(user_id)
            return hit[1], hit[2]
    rows = [row for row in conn.execute(_VOCABULARY, {"user_id": user_id}) if row.term.isalpha()]
    terms = [row.term for row in rows]
    matrix = model.embed([row.word for row in rows], norm=True) if rows else None
    with _lock:
        _cache[user_id] = (now, terms, matrix)
        _cache.move_to_end(user_id)
        while len(_cache) > CACHE_USERS:
            _cache.popitem(last=False)
    return terms, matrix


def nearest_terms(conn: Connection, user_id: str, words: list[str], minimum: float,
                  limit: int) -> list[tuple[str, float]]:
    """Up to ``limit`` of the user's indexed terms whose similarity to any of ``words`` (spellings
    of one query word, e.g. as typed and as stemmed) is at least ``minimum``, best first;
    ``[]`` without wordllama."""
    model = _load_wordllama()
    if model is None:
        return []
    terms, matrix = _vocabulary(conn, model, user_id)
    if not terms:
        return []
    queries = model.embed(words, norm=True)
    similarity = (matrix @ queries.T).max(axis=1)
    best = similarity.argsort()[::-1][:limit]
    return [(terms[i], float(similarity[i])) for i in best if similarity[i] >= minimum]


def clear_cache() -> None:
    """Forget every cached vocabulary (tests)."""
    with _lock:
        _cache.clear()
