"""Part of the search index's SQL module (it reads ``search_vocabulary``): keyword search's
meaning-based expansion. A query word the user's collection never uses ("workouts",
"streetcar") is matched to the collection's nearest indexed terms ("exercis",
"tram") by WordLlama's static token embeddings, the offline embedder's weights shipped in the
``wordllama`` wheel (nothing downloaded, no provider call, no query embedding).

WordLlama embeds a word as the mean of its word pieces, so a word it splits into pieces
("berlin" = "ber" + "lin") is near any term sharing a piece ("bergen"), whatever either means. A
neighbour therefore also has to be similar in the pieces the two do not share ("lin" and "gen"):
shared pieces are spelling, which keyword search's spelling expansion already covers. A term made
of the word's pieces plus others, or the reverse ("streetcar" and "street"), is kept.

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

import numpy as np
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
_cache: OrderedDict[str, tuple[float, list[str], list[str], Any]] = OrderedDict()


def _vocabulary(conn: Connection, model: Any, user_id: str) -> tuple[list[str], list[str], Any]:
    """The user's indexed terms (not numbers), the words they stem from and the unit vectors of
    those words, cached."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(user_id)
        if hit and now - hit[0] < CACHE_SECONDS:
            _cache.move_to_end(user_id)
            return hit[1], hit[2], hit[3]
    rows = [row for row in conn.execute(_VOCABULARY, {"user_id": user_id}) if row.term.isalpha()]
    terms, words = [row.term for row in rows], [row.word for row in rows]
    matrix = model.embed(words, norm=True) if rows else None
    with _lock:
        _cache[user_id] = (now, terms, words, matrix)
        _cache.move_to_end(user_id)
        while len(_cache) > CACHE_USERS:
            _cache.popitem(last=False)
    return terms, words, matrix


def similar_apart(model: Any, word: str, other: str) -> float:
    """Cosine similarity of the word pieces ``word`` and ``other`` do not share (1.0 when one's
    pieces all belong to the other: a compound, an inflection)."""
    pieces, others = (set(model.tokenizer.encode(w, add_special_tokens=False).ids) for w in (word, other))
    own, their = sorted(pieces - others), sorted(others - pieces)
    if not own or not their:
        return 1.0
    a, b = model.embedding[own].mean(axis=0), model.embedding[their].mean(axis=0)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) or 1.0))


def nearest_terms(conn: Connection, user_id: str, words: list[str], minimum: float,
                  limit: int) -> list[tuple[str, float]]:
    """Up to ``limit`` of the user's indexed terms whose similarity to any of ``words`` (spellings
    of one query word, e.g. as typed and as stemmed) is at least ``minimum``, as is the
    similarity of the pieces they do not share (:func:`similar_apart`), best first; ``[]``
    without wordllama."""
    model = _load_wordllama()
    if model is None:
        return []
    terms, indexed_words, matrix = _vocabulary(conn, model, user_id)
    if not terms:
        return []
    queries = model.embed(words, norm=True)
    similarity = (matrix @ queries.T).max(axis=1)
    found: list[tuple[str, float]] = []
    for i in similarity.argsort()[::-1]:
        if similarity[i] < minimum or len(found) == limit:
            break
        if max(similar_apart(model, word, indexed_words[i]) for word in words) >= minimum:
            found.append((terms[i], float(similarity[i])))
    return found


def clear_cache() -> None:
    """Forget every cached vocabulary (tests)."""
    with _lock:
        _cache.clear()
