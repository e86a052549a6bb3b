"""A small run of benchmarks/bench_load.py against a live `make run`: concurrent task creations
and activity posts, zero 5xx, zero lost records (the full-size run is in the README)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.bench_load import SECRET, activity_markers, ok, report, run
from tests.live_server import local_server


def test_concurrent_load_loses_nothing(tmp_path: Path, pg_url: str) -> None:
    with local_server(tmp_path, pg_url, SECRET) as (base, _):
        figures = run(base, tasks=150, activity=150, clients=16, read_markers=activity_markers(pg_url),
                      wait_seconds=120)
    print(report(figures))
    assert figures["server_errors"] == 0
    assert figures["tasks_accepted"] == 150 and figures["tasks_lost"] == 0 and figures["tasks_error"] == 0
    assert figures["unexpected_4xx"] == 0
    assert figures["activity_accepted"] == 150  # one answer per post, a replay included
    assert figures["activity_lost"] == figures["activity_unaccepted_stored"] == 0  # by marker, not by count
    # Each post carries an Idempotency-Key: a retry after a reset is replayed, never stored twice.
    assert figures["activity_duplicates"] == 0 and figures["activity_stored"] == 150
    assert ok(figures)
