"""Retrieval quality of collections search on labelled sets: MRR, P@1, recall@5 and NDCG@5 per
query kind (single, multi, paraphrase) and mode (keyword, vector, hybrid), the share of no-answer
queries answered with an empty list, keyword MRR without the meaning expansion (no WordLlama, as
on Lambda), and the old ranking (websearch_to_tsquery + ts_rank_cd keyword, RRF k=60 hybrid, no
floor) computed in the same run, as ratios.

Two sets: the tuning set (benchmarks/data/retrieval_eval.json), on which the weights and floors of
search.py were chosen, and the held-out set (benchmarks/data/retrieval_heldout.json), written
independently and never used to choose a constant: its figures are the honest estimate. Queries run through the real ranking code (``search.rank`` and the floors) on the
embedded PostgreSQL, documents through the real embedding document builder and the Embedder port:
the offline WordLlama embedder by default (labelled), Voyage when VOYAGE_API_KEY is set.

    .venv/bin/python benchmarks/bench_retrieval_quality.py [--set heldout|tuning|both] [--calibrate]
        [--misses]                 # also the queries each mode gets wrong
        [--no-meaning-expansion]   # the whole run without WordLlama's expansion of absent words
    .venv/bin/python benchmarks/bench_retrieval_quality.py --data PATH   # another set, same format
    .venv/bin/python benchmarks/bench_retrieval_quality.py --offline   # images through the
        real pipeline with offline providers alone (benchmarks/offline_retrieval.py)

``--calibrate`` also prints the floor and hybrid weight each mode would get from a set (choose
constants on the tuning set only).
API for other document sources (e.g. analyses produced by another analyzer):
``evaluate(documents, queries, embedder) -> Report`` with ``documents`` a list of
``(item_id, analysis dict)`` and ``queries`` a list of ``{"query", "kind", "relevant"}``;
``format_report(report)`` prints it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._collections_data import load  # noqa: E402
from benchmarks._support import embedded_database  # noqa: E402
from benchmarks.retrieval_metrics import summarize  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "retrieval_eval.json"
HELDOUT = Path(__file__).resolve().parent / "data" / "retrieval_heldout.json"
SETS = {"tuning": (DATA, "tuning set (weights and floors were chosen on it)"),
        "heldout": (HELDOUT, "held-out set (never used for tuning)")}
KINDS = ("single", "multi", "paraphrase")
MODES = ("keyword", "vector", "hybrid")
USER = "quality-user"
CANDIDATES = 30


@dataclass
class Report:
    """Per mode: per kind metrics, the share of no-answer queries answered empty; the same for the
    old ranking (``baseline``); the raw ranked lists for calibration."""

    items: int
    queries: int
    embedder: str
    metrics: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    empty_share: dict[str, float] = field(default_factory=dict)
    baseline: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    baseline_empty_share: dict[str, float] = field(default_factory=dict)
    raw: dict[str, list[tuple[list[tuple[str, float]], set[str], str]]] = field(default_factory=dict)
    ranking_mrr: dict[str, dict[str, float]] = field(default_factory=dict)  # MRR of the ranking, no floor
    kept: dict[str, float] = field(default_factory=dict)  # answerable queries with a relevant result kept
    weight_sweep: list[tuple[float, float]] = field(default_factory=list)
    keyword_without_meaning: dict[str, float] = field(default_factory=dict)  # ranking MRR per kind
    no_answer: int = 0  # how many queries have no answer
    labels: list[str] = field(default_factory=list)  # the queries, in the order of ``raw``


def load_eval(path: Path = DATA) -> tuple[list[tuple[str, dict]], list[dict]]:
    data = json.loads(path.read_text())
    return [(item["id"], item["analysis"]) for item in data["items"]], data["queries"]


def websearch_ranked(conn: Any, user_id: str, query: str, limit: int) -> list[tuple[str, float]]:
    """The keyword ranking this project had before BM25: every word must match (websearch_to_tsquery),
    ranked by ts_rank_cd over the stored weighted tsvector."""
    from sqlalchemy import text

    rows = conn.execute(text("""
        SELECT a.item_id, ts_rank_cd(a.search_vector, websearch_to_tsquery('english', :q)) AS score
        FROM analyses a JOIN items i ON i.current_analysis_id = a.id
        WHERE a.user_id = :u AND a.search_vector @@ websearch_to_tsquery('english', :q)
        ORDER BY score DESC, a.item_id LIMIT :limit"""), {"q": query, "u": user_id, "limit": limit})
    return [(row.item_id, float(row.score)) for row in rows]


def _table(runs: Sequence[tuple[list[tuple[str, float]], set[str], str]], floor: float | None) -> tuple[dict, float]:
    """Metrics per kind (and "all") over the results kept by ``floor``; share of no-answer queries empty."""
    kept = [([i for i, s in ranked if floor is None or s >= floor], relevant, kind) for ranked, relevant, kind in runs]
    table = {kind: summarize([(r, rel) for r, rel, k in kept if k == kind]) for kind in KINDS
             if any(k == kind for _, _, k in kept)}
    table["all"] = summarize([(r, rel) for r, rel, k in kept if k != "none"])
    none = [r for r, _, k in kept if k == "none"]
    return table, (sum(1 for r in none if not r) / len(none) if none else 0.0)


def evaluate(documents: Sequence[tuple[str, Mapping[str, Any]]], queries: Sequence[Mapping[str, Any]],
             embedder: Any = None, database: str = "bench_quality") -> Report:
    """Load ``documents`` for one user in a fresh embedded PostgreSQL, run every query in every
    mode through the real ranking and floors, and the old ranking beside it."""
    from sqlalchemy import text

    from chalicelib.collections import search, term_neighbours
    from chalicelib.collections.embedding import embedding_document
    from chalicelib.db.engine import get_engine
    from chalicelib.providers import get_embedder
    from chalicelib.settings import get_settings

    term_neighbours.clear_cache()  # the same user id in every set: no vocabulary from the last one
    engine = get_engine(embedded_database(database))
    embedder = embedder or get_embedder(get_settings())
    docs = [{"item_id": item_id, "user_id": USER, "analysis": dict(analysis)} for item_id, analysis in documents]
    result = embedder.embed([embedding_document(d["analysis"])[0] for d in docs], input_type="document")
    load(engine, docs, result.vectors, progress=False, model=result.model, dimensions=result.dimensions)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    texts = [q["query"] for q in queries]
    query_result = embedder.embed(texts, input_type="query")
    report = Report(len(docs), len(queries), f"{result.provider_used} ({result.model})")
    raw: dict[str, list] = {mode: [] for mode in (*MODES, "baseline keyword", "baseline hybrid")}
    parts = []  # (keyword, vector, vector scores of keyword-only candidates) per query, for the sweep
    with engine.begin() as conn:
        for q, vector in zip(queries, query_result.vectors, strict=True):
            relevant, kind = set(q.get("relevant") or []), q["kind"]
            one = _OneQuery([vector], query_result.model, query_result.dimensions)
            for mode in MODES:
                request = search.SearchRequest(q["query"], mode, top_k=10)
                raw[mode].append((search.rank(conn, USER, request, one).results[:10], relevant, kind))
            old_keyword = websearch_ranked(conn, USER, q["query"], CANDIDATES)
            old_vector = search.vector_ranked(conn, USER, vector, CANDIDATES, model=query_result.model,
                                              dimensions=query_result.dimensions)
            raw["baseline keyword"].append((old_keyword[:10], relevant, kind))
            raw["baseline hybrid"].append((search.reciprocal_rank_fusion(old_keyword, old_vector)[:10], relevant, kind))
            keyword = search.keyword_ranked(conn, USER, q["query"], CANDIDATES)
            missing = [i for i, _ in keyword if i not in {j for j, _ in old_vector}]
            parts.append((keyword, old_vector, search.vector_scores(conn, USER, vector, missing, model=query_result.model,
                                                                    dimensions=query_result.dimensions), relevant, kind))
    floors = {"keyword": search.KEYWORD_FLOOR, "vector": search.vector_floor(query_result.model),
              "hybrid": search.HYBRID_FLOOR}
    for mode in MODES:
        report.metrics[mode], report.empty_share[mode] = _table(raw[mode], floors[mode])
        ranking, _ = _table(raw[mode], None)
        report.ranking_mrr[mode] = {kind: m["MRR"] for kind, m in ranking.items()}
        report.kept[mode] = _kept(raw[mode], floors[mode])
    for weight in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        fused = [(search.fuse(k, v, extra, query_result.model, weight)[:10], rel, kind) for k, v, extra, rel, kind in parts]
        report.weight_sweep.append((weight, _table(fused, None)[0]["all"]["MRR"]))
    for mode in ("keyword", "hybrid"):
        report.baseline[mode], report.baseline_empty_share[mode] = _table(raw[f"baseline {mode}"], None)
    with engine.begin() as conn, without_meaning_expansion():
        plain = [(search.keyword_ranked(conn, USER, q["query"], 10), set(q.get("relevant") or []), q["kind"])
                 for q in queries]
    report.keyword_without_meaning = {kind: m["MRR"] for kind, m in _table(plain, None)[0].items()}
    report.raw = raw
    report.no_answer = sum(1 for q in queries if q["kind"] == "none")
    report.labels = texts
    return report


@contextlib.contextmanager
def without_meaning_expansion() -> Iterator[None]:
    """Keyword search as where ``wordllama`` is not installed (the Lambda package): term_neighbours
    finds no model, so absent query words get no meaning-based expansion."""
    from chalicelib.collections import term_neighbours

    with mock.patch.object(term_neighbours, "_load_wordllama", lambda: None):
        yield


@dataclass
class _OneQuery:
    vectors: list[list[float]]
    model: str
    dimensions: int


def format_report(report: Report, title: str | None = None) -> str:
    lines = [f"== {title} ==" if title else "== labelled set ==",
             f"{report.items} labelled items, {report.queries} queries, embedder: {report.embedder}",
             "metrics over the results search returns (floor applied); 'ranking MRR': the same ranking without the floor",
             "", f"{'mode':9}{'kind':12}{'MRR':>7}{'P@1':>7}{'recall@5':>10}{'NDCG@5':>8}{'ranking MRR':>13}"]
    for mode in MODES:
        for kind, m in report.metrics[mode].items():
            lines.append(f"{mode:9}{kind:12}{m['MRR']:>7.3f}{m['P@1']:>7.3f}{m['recall@5']:>10.3f}{m['NDCG@5']:>8.3f}"
                         f"{report.ranking_mrr[mode][kind]:>13.3f}")
        lines.append(f"{mode:9}{'none':12}no-answer queries answered empty: {report.empty_share[mode]:.0%} "
                     f"({round(report.empty_share[mode] * report.no_answer)}/{report.no_answer}); "
                     f"answerable queries with a relevant result kept: {report.kept[mode]:.0%}")
    lines += ["", "against the old ranking (websearch_to_tsquery + ts_rank_cd; RRF k=60; no floor), same run:",
              f"{'mode':9}{'kind':12}{'old MRR':>9}{'new ranking MRR':>17}{'ratio':>8}{'old empty':>11}{'new empty':>11}"]
    for mode in ("keyword", "hybrid"):
        for kind, old in report.baseline[mode].items():
            new = report.ranking_mrr[mode][kind]
            ratio = f"{new / old['MRR']:.2f}x" if old["MRR"] else "-"
            lines.append(f"{mode:9}{kind:12}{old['MRR']:>9.3f}{new:>17.3f}{ratio:>8}"
                         f"{report.baseline_empty_share[mode]:>11.0%}{report.empty_share[mode]:>11.0%}")
    lines.append("")
    for kind in report.ranking_mrr["hybrid"]:
        best_input = max(report.ranking_mrr["keyword"][kind], report.ranking_mrr["vector"][kind])
        fused = report.ranking_mrr["hybrid"][kind]
        lines.append(f"hybrid ranking MRR, {kind}: {fused:.3f} vs the better of its inputs {best_input:.3f}: "
                     f"{'not worse' if fused >= best_input - 1e-9 else 'WORSE'}")
    hybrid = report.ranking_mrr["hybrid"]["all"]
    lines += [
              f"goals (ranking MRR): keyword >= 0.95: {report.ranking_mrr['keyword']['all']:.3f}; hybrid >= 0.97: "
              f"{hybrid:.3f}; no-answer empty >= 75%: hybrid {report.empty_share['hybrid']:.0%}, "
              f"keyword {report.empty_share['keyword']:.0%}, vector {report.empty_share['vector']:.0%}",
              "keyword ranking MRR without the meaning expansion (no WordLlama, e.g. on Lambda): " + ", ".join(
                  f"{kind} {mrr:.3f}" for kind, mrr in report.keyword_without_meaning.items())]
    return "\n".join(lines)


def misses(report: Report) -> str:
    """Per mode, the answerable queries whose first kept result is not relevant (with the rank of
    the first relevant one in the ranking, floor ignored) and the no-answer queries given results."""
    from chalicelib.collections import search

    floors = {"keyword": search.KEYWORD_FLOOR, "hybrid": search.HYBRID_FLOOR}
    lines = []
    for mode, floor in floors.items():
        lines.append(f"{mode} misses (floor {floor}):")
        for query, (ranked, relevant, kind) in zip(report.labels, report.raw[mode], strict=True):
            kept = [(i, s) for i, s in ranked if s >= floor]
            if kind == "none" and kept:
                lines.append(f"  no answer, yet {len(kept)} kept: {query!r} (top {kept[0][0]} {kept[0][1]:.3f})")
            elif kind != "none" and (not kept or kept[0][0] not in relevant):
                rank = next((n for n, (i, _) in enumerate(ranked, 1) if i in relevant), None)
                score = next((s for i, s in ranked if i in relevant), None)
                where = f"rank {rank}, score {score:.3f}" if rank else "not in the top 10"
                lines.append(f"  {kind}: {query!r}: relevant at {where}")
    return "\n".join(lines)


def floor_for_empties(runs: Sequence[tuple[list[tuple[str, float]], set[str], str]], share: float = 0.75) -> float:
    """The lowest floor at which at least ``share`` of the no-answer queries come back empty
    (the rule the floors in search.py follow)."""
    tops = sorted((ranked[0][1] if ranked else float("-inf")) for ranked, _, kind in runs if kind == "none")
    if not tops:
        return 0.0
    index = math.ceil(share * len(tops)) - 1  # this many tops must lie below the floor
    return round(tops[index] + 1e-4, 4) if tops[index] != float("-inf") else 0.0


def calibrate(report: Report) -> str:
    """Floors this set suggests, what each costs, and the hybrid weight sweep."""
    from chalicelib.collections import search

    lines = ["", "calibration on this set (floor: the lowest with >= 75% of no-answer queries empty):"]
    for mode in MODES:
        floor = floor_for_empties(report.raw[mode])
        table, empty = _table(report.raw[mode], floor)
        lines.append(f"  {mode:8} floor {floor:.3f}: empty {empty:.0%}, answerable with a relevant result kept "
                     f"{_kept(report.raw[mode], floor):.0%}, MRR {table['all']['MRR']:.3f}")
    lines.append(f"  in search.py: keyword {search.KEYWORD_FLOOR}, hybrid {search.HYBRID_FLOOR}, "
                 f"vector {search.VECTOR_FLOORS}")
    lines.append("  hybrid keyword weight sweep (MRR without floor): " + ", ".join(
        f"{w:.1f}: {mrr:.3f}" for w, mrr in report.weight_sweep))
    return "\n".join(lines)


def _kept(runs: Sequence[tuple[list[tuple[str, float]], set[str], str]], floor: float) -> float:
    answerable = [(ranked, relevant) for ranked, relevant, kind in runs if kind != "none"]
    return sum(1 for ranked, relevant in answerable
               if any(i in relevant and s >= floor for i, s in ranked)) / len(answerable)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("heldout", "tuning", "both"), default="both",
                        help="which labelled set(s) to report (default both)")
    parser.add_argument("--data", type=Path, help="report this set instead (same format)")
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--misses", action="store_true", help="list the queries each mode gets wrong")
    parser.add_argument("--no-meaning-expansion", action="store_true",
                        help="run without WordLlama's meaning expansion of absent query words (as on Lambda)")
    args = parser.parse_args()
    if args.data:
        runs = [(args.data, str(args.data))]
    else:
        runs = [SETS[name] for name in (("tuning", "heldout") if args.set == "both" else (args.set,))]
    for index, (path, title) in enumerate(runs):
        documents, queries = load_eval(path)
        with without_meaning_expansion() if args.no_meaning_expansion else contextlib.nullcontext():
            report = evaluate(documents, queries, database=f"bench_quality_{index}")
        if index:
            print()
        print(format_report(report, title + (", meaning expansion off" if args.no_meaning_expansion else "")))
        if args.calibrate:
            print(calibrate(report))
        if args.misses:
            print(misses(report))


if __name__ == "__main__":
    if "--offline" in sys.argv[1:]:
        from benchmarks.offline_retrieval import run

        run()
    else:
        main()
