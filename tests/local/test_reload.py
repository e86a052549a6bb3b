"""`make run` restarts when the app's source changes and only then: writes under `.local/` (the
embedded database, the runtime's queue, metrics), `.venv/` or `__pycache__/` never restart it."""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
import uuid
from pathlib import Path

from localdev.reload import SourceWatcher
from tests.conftest import ROOT, TEST_JWT_SECRET, make_token
from tests.live_server import healthy, local_server, wait_for


def make_tree(root: Path) -> None:
    for name in ("app.py", "chalicelib/__init__.py", "chalicelib/tasks/service.py", ".chalice/config.json",
                 "requirements.txt", ".local/pg/base/16384", ".local/runtime.sqlite3", ".venv/lib/site.py",
                 "chalicelib/__pycache__/service.cpython-311.pyc", "tests/test_x.py", "README.md"):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")


def bump(path: Path) -> None:
    """A new modification time, as an editor's save gives (coarse clocks cannot hide it)."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_edits_outside_the_app_source_change_nothing(tmp_path: Path) -> None:
    make_tree(tmp_path)
    watcher = SourceWatcher(tmp_path)
    for name in (".local/pg/base/16384", ".local/runtime.sqlite3", ".venv/lib/site.py",
                 "chalicelib/__pycache__/service.cpython-311.pyc", "tests/test_x.py", "README.md"):
        bump(tmp_path / name)
    (tmp_path / ".local/metrics.jsonl").write_text("{}\n")
    (tmp_path / "chalicelib/notes.txt").write_text("not source")
    assert watcher.changed() is None


def test_every_kind_of_source_change_is_seen_once(tmp_path: Path) -> None:
    make_tree(tmp_path)
    watcher = SourceWatcher(tmp_path)
    for name in ("app.py", "chalicelib/tasks/service.py", ".chalice/config.json", "requirements.txt"):
        bump(tmp_path / name)
        assert watcher.changed() == tmp_path / name
        assert watcher.changed() is None  # reported once, then quiet
    added = tmp_path / "chalicelib/pages/generator.py"
    added.parent.mkdir()
    added.write_text("y = 2\n")
    assert watcher.changed() == added
    added.unlink()
    assert watcher.changed() == added
    assert watcher.changed() is None


def post(base: str, path: str, body: dict, token: str) -> int:
    request = urllib.request.Request(f"{base}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return response.status


def task_status(base: str, task_id: str, token: str) -> str:
    request = urllib.request.Request(f"{base}/tasks/{task_id}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read())["status"]


def create_task(base: str, token: str, description: str) -> str:
    request = urllib.request.Request(f"{base}/tasks", data=json.dumps({"description": description}).encode(),
                                     method="POST", headers={"Authorization": f"Bearer {token}",
                                                             "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        assert response.status == 202
        return json.loads(response.read())["id"]


def serve_messages(log: Path, start: str) -> list[str]:
    """`make run`'s own log messages (JSON lines) that begin with ``start``."""
    messages = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("logger") == "local.serve" and str(record.get("msg", "")).startswith(start):
                messages.append(record["msg"])
    return messages


def test_make_run_restarts_on_a_source_edit_and_not_on_its_own_data(pg_url: str) -> None:
    data_dir = ROOT / ".local" / f"reload-test-{uuid.uuid4().hex[:8]}"  # inside the tree, as `make run` has it
    app_py = ROOT / "app.py"
    original = app_py.stat()
    token = make_token(f"user-{uuid.uuid4().hex[:8]}")
    try:
        with local_server(data_dir, pg_url, TEST_JWT_SECRET, autoreload=True) as (base, _):
            log = data_dir / "serve.log"
            # Work that writes under .local/: queued deliveries, the worker's runs, metrics lines.
            tasks = [create_task(base, token, f"reload check {i}") for i in range(5)]
            for i in range(5):
                assert post(base, "/activity", {"page": f"page-{i}", "action": "view"}, token) == 202
            wait_for(lambda: all(task_status(base, t, token) == "completed" for t in tasks), timeout=60)
            time.sleep(2.5)  # two more polls of the watcher
            assert "restarting" not in log.read_text().lower()

            bump(app_py)
            wait_for(lambda: len(serve_messages(log, "ready in")) == 2, timeout=60)
            assert serve_messages(log, "app.py changed: restarting")
            assert healthy(base)
            # Both halves came back: the route answers and the runtime runs the worker again.
            after = create_task(base, token, "after the restart")
            wait_for(lambda: task_status(base, after, token) == "completed", timeout=60)
    finally:
        os.utime(app_py, ns=(original.st_atime_ns, original.st_mtime_ns))
        shutil.rmtree(data_dir, ignore_errors=True)
