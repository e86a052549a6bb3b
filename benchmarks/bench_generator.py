"""Page generator throughput: 40 queued jobs, a fake Claude with 300 ms latency,
concurrency 8 (ours) against 1 (the seed's one-job-at-a-time loop). Goal: 6x or more.

    .venv/bin/python benchmarks/bench_generator.py [--jobs 40] [--latency 0.3]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._support import embedded_database  # noqa: E402


class SlowLLM:
    """Stands in for Claude at the port: fixed latency, schema-valid answers."""

    def __init__(self, latency: float) -> None:
        self.latency = latency

    def complete_json(self, system, prompt, schema, **kwargs):  # noqa: ANN001, ANN003, ANN201
        from chalicelib.providers.base import JsonResult

        time.sleep(self.latency)
        page_type = prompt.split("'")[1]
        return JsonResult(data={"title": page_type, "components": [{"type": "hero", "title": page_type}]},
                          provider_used="bench", model_used="bench")


def run(url: str, jobs: int, latency: float, concurrency: int) -> float:
    from chalicelib.db.engine import get_engine
    from chalicelib.pages.repository import PagesRepository
    from chalicelib.pages.service import PagesService

    repository = PagesRepository(get_engine(url))
    user = f"bench-{uuid.uuid4().hex[:8]}"
    for i in range(jobs):
        repository.enqueue(user, f"page-{i}", 0.8, {"kind": "bench"})
    llm = SlowLLM(latency)
    started = time.perf_counter()
    result = PagesService(repository, lambda: llm, concurrency=concurrency).generate()
    elapsed = time.perf_counter() - started
    assert result["pages_generated"] == jobs, result
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.3)
    args = parser.parse_args()
    url = embedded_database("bench_generator")
    ours = run(url, args.jobs, args.latency, 8)
    baseline = run(url, args.jobs, args.latency, 1)
    print(f"{args.jobs} jobs, fake Claude latency {args.latency * 1000:.0f} ms")
    print(f"{'concurrency 8 (ours)':28}{ours:8.2f} s  {args.jobs / ours:6.1f} jobs/s")
    print(f"{'concurrency 1 (seed)':28}{baseline:8.2f} s  {args.jobs / baseline:6.1f} jobs/s")
    ratio = baseline / ours
    print(f"speed-up: {ratio:.2f}x  (goal >= 6x) -> {'OK' if ratio >= 6 else 'UNDER'}")


if __name__ == "__main__":
    main()
