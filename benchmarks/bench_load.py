"""Bounded load on loopback against `make run` (chalice local + the local runtime, embedded
PostgreSQL): N task creations and N activity posts from C concurrent keep-alive clients.

Reports per route p50/p99 latency and throughput next to the baseline, the same loop against
GET /health (the server's floor per request), as ratios; then checks nothing was lost: every
202'd task is readable and reaches a terminal status, and the stored activity rows equal the
accepted count. Each activity post carries a unique marker in its metadata and an
Idempotency-Key, as tasks do, so the check is on the sets: every accepted marker stored exactly
once (a post retried after a connection reset is replayed, not stored again), nothing stored that
was not accepted. Exit status 1 on any 5xx, unexpected 4xx, task ending in error, lost record or
duplicate.

    .venv/bin/python benchmarks/bench_load.py                      # 2000 + 2000, 32 clients
    .venv/bin/python benchmarks/bench_load.py --tasks 200 --activity 200 --clients 16
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SECRET = "bench-load-secret-" + "x" * 32


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    bodies: list[dict] = field(default_factory=list)
    elapsed: float = 0.0
    resets: int = 0  # connections chalice local's small listen backlog refused or reset
    accepted: set[int] = field(default_factory=set)  # indexes of the requests answered 200/202
    retried: set[int] = field(default_factory=set)  # indexes sent again after a reset

    def percentile(self, pct: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, int(round(pct / 100 * len(ordered))) - 1)] * 1000 if ordered else 0.0

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def drive(base: str, requests: list[tuple[str, str, bytes | None, dict[str, str]]], clients: int) -> Result:
    """Send ``requests`` from ``clients`` threads, each with one keep-alive connection."""
    result, lock, cursor = Result(), threading.Lock(), iter(range(len(requests)))
    parts = urlsplit(base)

    def worker() -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                break
            method, path, body, headers = requests[index]
            started = time.perf_counter()
            status, payload = 599, b"{}"
            for attempt in range(3):  # a reset connection is retried, as a client would (POSTs carry keys)
                try:
                    if attempt:
                        with lock:
                            result.retried.add(index)
                    connection.request(method, path, body=body, headers=headers)
                    response = connection.getresponse()
                    payload = response.read()
                    status = response.status
                    break
                except (OSError, http.client.HTTPException):
                    connection.close()
                    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                    with lock:
                        result.resets += 1
            took = time.perf_counter() - started
            with lock:
                result.latencies.append(took)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status in (200, 202):
                    result.accepted.add(index)
                    result.bodies.append(json.loads(payload or b"{}"))
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.elapsed = time.perf_counter() - started
    return result


def unexpected_statuses(result: Result, expected: int) -> int:
    """Answers other than ``expected`` below 500 (5xx are counted as server errors)."""
    return sum(n for status, n in result.statuses.items() if status != expected and status < 500)


def run(base: str, tasks: int, activity: int, clients: int, read_markers: Callable[[str], list[str]],
        wait_seconds: float = 300) -> dict:
    """The load run against a live server; returns the figures and the loss checks.
    ``read_markers(user)`` lists the ``metadata.marker`` of every activity row stored for the user."""
    import jwt

    users = [f"load-{uuid.uuid4().hex[:8]}" for _ in range(clients)]
    now = int(time.time())
    tokens = {u: jwt.encode({"sub": u, "iat": now, "exp": now + 3600}, SECRET, algorithm="HS256") for u in users}

    def headers(i: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[users[i % clients]]}", "Content-Type": "application/json"}

    health = drive(base, [("GET", "/health", None, {}) for _ in range(max(tasks, activity))], clients)
    run_id = uuid.uuid4().hex[:8]
    created = drive(base, [("POST", "/tasks", json.dumps({"description": f"load task {i}"}).encode(),
                            {**headers(i), "Idempotency-Key": f"{run_id}-{i}"}) for i in range(tasks)], clients)
    marker = [f"{run_id}-a{i}" for i in range(activity)]
    posted = drive(base, [("POST", "/activity", json.dumps({"page": f"page-{i % 7}", "action": "view",
                                                            "metadata": {"marker": marker[i]}}).encode(),
                           {**headers(i), "Idempotency-Key": marker[i]}) for i in range(activity)], clients)

    accepted_ids = [b["id"] for b in created.bodies]
    owner_of = dict.fromkeys(accepted_ids)
    # Every accepted task is readable by its owner and reaches a terminal status.
    deadline, pending = time.monotonic() + wait_seconds, set(owner_of)
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    terminal: dict[str, str] = {}
    while pending and time.monotonic() < deadline:
        for user in users:
            cursor = None
            while True:
                path = "/tasks?limit=100" + (f"&cursor={cursor}" if cursor else "")
                connection.request("GET", path, headers={"Authorization": f"Bearer {tokens[user]}"})
                page = json.loads(connection.getresponse().read())
                for task in page["tasks"]:
                    if task["status"] in ("completed", "error"):
                        terminal[task["id"]] = task["status"]
                cursor = page.get("next_cursor")
                if not cursor:
                    break
        pending = set(owner_of) - set(terminal)
        if pending:
            time.sleep(1)
    connection.close()
    accepted_activity = sum(b.get("accepted", 0) for b in posted.bodies)
    stored = [m for u in users for m in read_markers(u)]
    stored_set, accepted_markers = set(stored), {marker[i] for i in posted.accepted}
    retried_markers = {marker[i] for i in posted.retried}
    extra = {m: n - 1 for m, n in Counter(stored).items() if n > 1}  # marker -> rows beyond the first
    return {
        "health": health, "tasks": created, "activity": posted,
        "tasks_accepted": len(accepted_ids), "tasks_terminal": len(terminal),
        "tasks_lost": len(set(owner_of) - set(terminal)),
        "tasks_error": sum(1 for s in terminal.values() if s == "error"),
        "activity_accepted": accepted_activity, "activity_stored": len(stored),
        "activity_lost": len(accepted_markers - stored_set),
        "activity_unaccepted_stored": len(stored_set - accepted_markers),
        # extra rows; with the Idempotency-Key, a retry after a reset must not add one either
        "activity_duplicates": sum(extra.values()),
        "activity_retried": len(retried_markers),
        "activity_replayed": sum(1 for b in posted.bodies if b.get("replayed")),
        "server_errors": created.server_errors + posted.server_errors + health.server_errors,
        "unexpected_4xx": (unexpected_statuses(health, 200) + unexpected_statuses(created, 202)
                           + unexpected_statuses(posted, 202)),
    }


def activity_markers(database_url: str) -> Callable[[str], list[str]]:
    from sqlalchemy import create_engine, select

    from chalicelib.pages.tables import activity_log

    engine = create_engine(database_url)

    def markers(user: str) -> list[str]:
        with engine.connect() as conn:
            rows = conn.execute(select(activity_log.c.metadata).where(activity_log.c.user_id == user)).scalars()
            return [(m or {}).get("marker", "") for m in rows]

    return markers


def report(figures: dict) -> str:
    health = figures["health"]
    lines = [f"{'route':<16} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'p50 x health':>13} "
             f"{'p99 x health':>13} {'5xx':>5}"]
    for name in ("health", "tasks", "activity"):
        r: Result = figures[name]
        label = {"health": "GET /health", "tasks": "POST /tasks", "activity": "POST /activity"}[name]
        n = len(r.latencies)
        lines.append(f"{label:<16} {n:>8} {n / r.elapsed:>8.0f} {r.percentile(50):>8.1f} {r.percentile(99):>8.1f} "
                     f"{r.percentile(50) / max(health.percentile(50), 1e-9):>13.2f} "
                     f"{r.percentile(99) / max(health.percentile(99), 1e-9):>13.2f} {r.server_errors:>5}")
    for name in ("tasks", "activity"):
        lines.append(f"{name} statuses: {dict(sorted(figures[name].statuses.items()))}; "
                     f"connection resets retried: {figures[name].resets}")
    lines.append(f"tasks: {figures['tasks_accepted']} accepted, {figures['tasks_terminal']} finished "
                 f"({figures['tasks_error']} error), {figures['tasks_lost']} lost")
    lines.append(f"activity: {figures['activity_accepted']} accepted, {figures['activity_stored']} stored; "
                 f"by marker: {figures['activity_lost']} lost, {figures['activity_unaccepted_stored']} stored "
                 f"but not accepted, {figures['activity_duplicates']} duplicated; {figures['activity_retried']} "
                 f"posts retried after a reset, {figures['activity_replayed']} answered as replays")
    lines.append(f"unexpected 4xx: {figures['unexpected_4xx']}")
    return "\n".join(lines)


def ok(figures: dict) -> bool:
    """No 5xx, no unexpected 4xx, no task lost or ended in error, and the stored activity markers
    are exactly the accepted ones, each stored once."""
    return (figures["server_errors"] == 0 and figures["unexpected_4xx"] == 0
            and figures["tasks_lost"] == 0 and figures["tasks_error"] == 0
            and figures["activity_lost"] == 0 and figures["activity_unaccepted_stored"] == 0
            and figures["activity_duplicates"] == 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--activity", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()

    import tempfile

    from benchmarks._support import embedded_database
    from tests.live_server import local_server

    url = embedded_database("load")
    with local_server(Path(tempfile.mkdtemp(prefix="load-")), url, SECRET) as (base, _):
        print(f"load: {args.tasks} POST /tasks + {args.activity} POST /activity from {args.clients} clients "
              f"against {base} (make run: chalice local + local runtime)")
        figures = run(base, args.tasks, args.activity, args.clients, activity_markers(url))
    print(report(figures))
    return 0 if ok(figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
