"""Event names of the pipeline (seed 004) and the ``Outcome`` every handler step returns."""

from __future__ import annotations

from dataclasses import dataclass

IMAGE_PROCESSED = ("collections.imageprocessor", "ImageProcessed")
ANALYSIS_COMPLETE = ("collections.analyzer", "AnalysisComplete")


@dataclass(frozen=True)
class Outcome:
    """What one delivery did: ``done``, ``duplicate`` (already done; events re-published),
    ``failed`` (the item is marked failed; not retried), ``skipped`` (not ours, stale or gone)."""

    status: str
    item_id: str | None = None
    reason: str = ""
    analysis_id: str | None = None
    #: The analyzer's model answer: ``valid``, ``repaired``, ``reasked``, ``unusable`` (or "").
    output: str = ""
