"""What app.py's pages handlers call: the service and detector wired for this stage."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from chalicelib import observability, wiring
from chalicelib.pages.repository import PagesRepository
from chalicelib.pages.service import PagesService
from chalicelib.settings import get_settings


def service() -> PagesService:
    settings = get_settings()
    # Stop claiming while a last job can still finish: one provider call (timeout) plus 5 s.
    margin_ms = int((settings.provider_timeout_seconds + 5) * 1000)
    return PagesService(PagesRepository(wiring.pages_engine()), wiring.llm, concurrency=settings.generator_concurrency,
                        lease=timedelta(seconds=settings.generator_lease_seconds),
                        miss_lease=timedelta(seconds=settings.page_miss_lease_seconds), deadline_margin_ms=margin_ms,
                        page_types=settings.page_types, misses_per_minute=settings.page_misses_per_minute)


#: The detector stops when less than this is left of its Lambda's time: one user's Converse call
#: (wiring.bedrock_runtime: two attempts of at most 5 s connect + 20 s read) fits in it.
DETECTOR_MARGIN_MS = 60_000


def detector() -> Any:
    settings = get_settings()
    if settings.pattern_detector == "bedrock":
        from chalicelib.pages.detector import BedrockDetector

        return BedrockDetector(settings.bedrock_model_id, wiring.bedrock_runtime())
    if settings.pattern_detector != "statistical":
        raise ValueError(f"PATTERN_DETECTOR must be 'statistical' or 'bedrock', got {settings.pattern_detector!r}")
    from chalicelib.pages.detector import StatisticalDetector

    return StatisticalDetector()


def run_generator(remaining_ms: Callable[[], int] | None = None) -> dict[str, Any]:
    """One scheduled generator run, answered in the seed's shape ``{"statusCode": 200, "body":
    {"success", "jobs_processed", "pages_generated", "errors"}}`` and reported as EMF metrics
    (``JobsProcessed``, ``PagesGenerated``, ``GenerationErrors``; dimension handler)."""
    stats = service().generate(remaining_ms)
    observability.put_metrics("page generator run", {"handler": "page_generator"}, {
        "JobsProcessed": (stats["jobs_processed"], "Count"),
        "PagesGenerated": (stats["pages_generated"], "Count"),
        "GenerationErrors": (stats["errors"], "Count"),
    })
    return {"statusCode": 200, "body": stats}


def run_detector(remaining_ms: Callable[[], int] | None = None) -> dict[str, Any]:
    """One scheduled detector run, with ``PredictionsQueued``, ``UsersScanned`` and
    ``DetectorErrors`` (users skipped after an error; alarmed) as EMF metrics."""
    stats = service().detect(detector(), remaining_ms=remaining_ms, margin_ms=DETECTOR_MARGIN_MS)
    observability.put_metrics("pattern detector run", {"handler": "pattern_detector"}, {
        "PredictionsQueued": (stats.get("queued", 0), "Count"),
        "UsersScanned": (stats.get("users", 0), "Count"),
        "DetectorErrors": (stats.get("errors", 0), "Count"),
    })
    return stats
