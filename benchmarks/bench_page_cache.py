"""GET /pages/{type}: a cache hit in process (chalice.test.Client, warm) against the miss path,
whether any AI SDK is imported on the hit path, and the share of the generator's input that is
the cacheable static system prompt. Goal: hit p50 <= 5 ms, no SDK imported.

    .venv/bin/python benchmarks/bench_page_cache.py [--requests 300]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._support import embedded_database, local_stage  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    local_stage(embedded_database("bench_pages"))

    from chalice.test import Client

    from app import app
    from chalicelib import auth, wiring
    from chalicelib.pages.generation import SYSTEM_PROMPT, activity_context, build_prompt

    wiring.set_app(app)
    user = f"bench-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {auth.mint_token(user)}"}
    hits, misses = [], []
    with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
        for i in range(20):  # misses: each page type generated (offline LLM) and stored
            started = time.perf_counter()
            assert client.http.get(f"/pages/page-{i}", headers=headers).status_code == 200
            misses.append((time.perf_counter() - started) * 1000)
        for i in range(args.requests):
            started = time.perf_counter()
            response = client.http.get(f"/pages/page-{i % 20}", headers=headers)
            hits.append((time.perf_counter() - started) * 1000)
            assert response.json_body["source"] == "cache"
    # the real SDKs are never needed to serve a hit: check in a fresh interpreter
    import subprocess

    probe = ("import sys, app; from chalicelib.pages import service, repository; "
             "print(','.join(m for m in ('anthropic','voyageai','PIL') if m in sys.modules))")
    imported = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    hit_p50, miss_p50 = statistics.median(hits), statistics.median(misses)
    print(f"{'GET /pages/{type}':24}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'cache hit (ours)':24}{hit_p50:>10.2f}{sorted(hits)[int(len(hits) * 0.99) - 1]:>10.2f}")
    print(f"{'miss, offline LLM':24}{miss_p50:>10.2f}{max(misses):>10.2f}")
    print(f"miss/hit: {miss_p50 / hit_p50:.1f}x   hit p50 goal <= 5 ms -> {'OK' if hit_p50 <= 5 else 'OVER'}")
    print(f"SDKs imported on the hit path: {imported or 'none'}")
    import json
    from datetime import datetime, timedelta

    from chalicelib.pages.generation import PAGE_SCHEMA

    events = [{"page": f"page-{i % 7}", "intent": None, "action": "view", "metadata": {"ref": "nav"},
               "occurred_at": datetime(2026, 11, 1) + timedelta(hours=5 * i)} for i in range(50)]
    prompt = build_prompt("dashboard", {"kind": "time_of_day", "hour": 9}, activity_context(events))
    # Anthropic's cache prefix is tools + system; cache_control on the system block marks both.
    static = len(json.dumps(PAGE_SCHEMA)) + len(SYSTEM_PROMPT)
    share = static / (static + len(prompt))
    print(f"cacheable share of input (tool schema + system prompt vs a 50-event context, by characters "
          f"~ tokens/4): {share:.0%} (~{static // 4} tokens; Anthropic caches prefixes from 1024 tokens on "
          f"Sonnet, so the mark takes effect once the static part grows past that)")


if __name__ == "__main__":
    main()
