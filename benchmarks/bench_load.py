"""Bounded load on loopback against `make run` (chalice local + the local runtime, embedded
PostgreSQL): N task creations and N activity posts from C concurrent keep-alive clients.

Reports per route p50/p99 latency and throughput next to the baseline, the same loop against
GET /health (the server's floor per request), as ratios; then checks nothing was lost: every
202'd task is readable and reaches a terminal status, and the stored activity rows equal the
accepted count. Exit status 1 on any 5xx or lost record.

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
            for _ in range(3):  # a reset connection is retried, as a client would (task POSTs carry keys)
                try:
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


def run(base: str, tasks: int, activity: int, clients: int, count_activity: Callable[[str], int],
        wait_seconds: float = 300) -> dict:
    """The load run against a live server; returns the figures and the loss checks."""
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
    posted = drive(base, [("POST", "/activity", json.dumps({"page": f"page-{i % 7}", "action": "view"}).encode(),
                           headers(i)) for i in range(activity)], clients)

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
    stored_activity = sum(count_activity(u) for u in users)
    return {
        "health": health, "tasks": created, "activity": posted,
        "tasks_accepted": len(accepted_ids), "tasks_terminal": len(terminal),
        "tasks_lost": len(set(owner_of) - set(terminal)),
        "tasks_error": sum(1 for s in terminal.values() if s == "error"),
        "activity_accepted": accepted_activity, "activity_stored": stored_activity,
        "server_errors": created.server_errors + posted.server_errors + health.server_errors,
    }


def activity_counter(database_url: str) -> Callable[[str], int]:
    from sqlalchemy import create_engine, func, select

    from chalicelib.pages.tables import activity_log

    engine = create_engine(database_url)

    def count(user: str) -> int:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).where(activity_log.c.user_id == user)).scalar_one()

    return count


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
    lines.append(f"activity: {figures['activity_accepted']} accepted, {figures['activity_stored']} stored")
    return "\n".join(lines)


def ok(figures: dict) -> bool:
    return (figures["server_errors"] == 0 and figures["tasks_lost"] == 0
            and figures["activity_accepted"] == figures["activity_stored"])


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
        figures = run(base, args.tasks, args.activity, args.clients, activity_counter(url))
    print(report(figures))
    return 0 if ok(figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
