"""Ranking metrics for the retrieval-quality harness: MRR, P@1, recall@k, NDCG@k."""

from __future__ import annotations

import math
from collections.abc import Sequence


def reciprocal_rank(ranked: Sequence[str], relevant: set[str]) -> float:
    for rank, item in enumerate(ranked, start=1):
        if item in relevant:
            return 1.0 / rank
    return 0.0


def precision_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    return sum(1 for item in ranked[:k] if item in relevant) / k


def recall_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    return sum(1 for item in ranked[:k] if item in relevant) / len(relevant) if relevant else 0.0


def ndcg_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    dcg = sum(1.0 / math.log2(rank + 1) for rank, item in enumerate(ranked[:k], start=1) if item in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, len(relevant)) + 1))
    return dcg / ideal if ideal else 0.0


def summarize(runs: Sequence[tuple[Sequence[str], set[str]]]) -> dict[str, float]:
    n = len(runs)
    return {
        "MRR": sum(reciprocal_rank(r, rel) for r, rel in runs) / n,
        "P@1": sum(precision_at(r, rel, 1) for r, rel in runs) / n,
        "recall@5": sum(recall_at(r, rel, 5) for r, rel in runs) / n,
        "NDCG@5": sum(ndcg_at(r, rel, 5) for r, rel in runs) / n,
    }
