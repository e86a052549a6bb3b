"""Pages fixtures: a recording fake LLM at the port, and the service on PostgreSQL and MariaDB."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.providers.base import JsonResult, ProviderOutputError


def fake_page(prompt: str) -> JsonResult:
    """A schema-valid page naming the page type the prompt asks for (a fake Claude answer)."""
    page_type = prompt.split("'")[1]
    data = {"title": f"Fake {page_type}"[:120],
            "components": [{"type": "hero", "title": f"Fake {page_type}"[:120], "body": "from the fake model",
                            "action": {"label": "Open", "href": f"/{page_type}"}}]}
    return JsonResult(data=data, provider_used="fake", model_used="fake-page-1", usage={})


class RecordingLLM:
    """Schema-valid fake answers through ``complete_json`` (Claude's path), with prompts recorded
    and calls counted."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.prompts: list[str] = []
        self.per_page: Counter = Counter()
        self.fail_with: Exception | None = None
        self._lock = threading.Lock()

    def complete_json(self, system: str, prompt: str, schema: dict, **kwargs: Any) -> JsonResult:
        with self._lock:
            self.prompts.append(prompt)
            self.per_page[prompt.split("'")[1]] += 1
        time.sleep(self.delay)
        if self.fail_with:
            raise self.fail_with
        return fake_page(prompt)


@pytest.fixture()
def llm() -> RecordingLLM:
    return RecordingLLM()


@pytest.fixture(params=["postgresql", "mysql"])
def engine(request: pytest.FixtureRequest):  # noqa: ANN201 - sqlalchemy Engine
    from chalicelib.db.engine import get_engine

    url = request.getfixturevalue("pg_url" if request.param == "postgresql" else "mysql_url")
    engine = get_engine(url)
    clear_pending_jobs(engine)
    return engine


def clear_pending_jobs(engine) -> None:  # noqa: ANN001
    """Tests share one database per dialect: start each with no queued or processing job, so a
    generator run processes only the jobs its test queued."""
    from sqlalchemy import delete

    from chalicelib.pages.tables import generation_queue

    with engine.begin() as connection:
        connection.execute(delete(generation_queue).where(generation_queue.c.status.in_(["queued", "processing"])))


@pytest.fixture()
def service(engine, llm):  # noqa: ANN001, ANN201
    from chalicelib.pages.repository import PagesRepository
    from chalicelib.pages.service import PagesService

    # A configured list of page types (PAGE_TYPES): misses for these generate without activity.
    return PagesService(PagesRepository(engine), lambda: llm, concurrency=8, lease=timedelta(seconds=60), miss_wait_seconds=10,
                        page_types=("inbox", "home"))


__all__ = ["ProviderOutputError", "RecordingLLM"]
