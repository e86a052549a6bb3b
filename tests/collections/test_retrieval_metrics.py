"""The retrieval-quality harness's metrics on hand-checked examples."""

from __future__ import annotations

import math

from benchmarks.retrieval_metrics import ndcg_at, precision_at, recall_at, reciprocal_rank, summarize


def test_metrics_match_hand_computed_values() -> None:
    ranked, relevant = ["c", "a", "x", "b"], {"a", "b"}
    assert reciprocal_rank(ranked, relevant) == 0.5
    assert precision_at(ranked, relevant, 1) == 0.0
    assert recall_at(ranked, relevant, 2) == 0.5 and recall_at(ranked, relevant, 5) == 1.0
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert math.isclose(ndcg_at(ranked, relevant, 5), expected)
    assert reciprocal_rank(["x"], relevant) == 0.0 and ndcg_at(["a", "b"], relevant, 5) == 1.0
    assert summarize([(["a"], {"a"}), (["x", "a"], {"a"})])["MRR"] == 0.75
