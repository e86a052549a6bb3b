"""The local runtime CLI against an app.py in a temporary project directory."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from localdev.cli import main, queue_path
from localdev.queue import DeliveryQueue

APP_PY = '''
from chalice import Chalice, Rate

app = Chalice(app_name="cli-test")


@app.schedule(Rate(1, unit=Rate.HOURS))
def hourly(event):
    raise RuntimeError("hourly is broken")


@app.schedule(Rate(1, unit=Rate.DAYS))
def daily(event):
    return {"swept": 3, "rule": event.to_dict()["resources"][0].rsplit("/", 1)[1]}
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "app.py").write_text(APP_PY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "app", raising=False)
    yield tmp_path
    sys.modules.pop("app", None)


def test_fire_deliveries_retry(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(project / ".local")]
    assert main([*data, "fire", "hourly"]) == 3  # queued, but no `make run` is delivering
    err = capsys.readouterr().err
    assert "queued schedule hourly" in err and "No runtime is delivering: start `make run`" in err
    assert main([*data, "fire", "nope"]) == 2
    assert "hourly" in capsys.readouterr().err

    from localdev.runtime import LocalRuntime

    queue = DeliveryQueue(queue_path(project / ".local"), backoff=(0.0,))
    LocalRuntime(sys.modules["app"].app, queue).drain()
    [failed] = queue.failed_deliveries()

    assert main([*data, "deliveries", "--status", "failed"]) == 0
    out = capsys.readouterr().out
    assert failed.id in out and "RuntimeError: hourly is broken" in out and "failed 1" in out

    assert main([*data, "retry", failed.id]) == 0
    assert queue.get(failed.id).status == "queued"
    assert main([*data, "retry", failed.id]) == 2
    assert "only failed deliveries" in capsys.readouterr().err


@pytest.fixture
def running(project: Path) -> Iterator[DeliveryQueue]:
    """A runtime delivering from the project's queue in a thread, as `make run` does."""
    from localdev.cli import load_runtime

    queue = DeliveryQueue(queue_path(project / ".local"), backoff=(0.6,))  # retries a poll can see
    runtime = load_runtime(queue)
    runtime.poll_interval = 0.05
    stop = threading.Event()
    thread = threading.Thread(target=runtime.run_forever, args=(stop,), daemon=True)
    thread.start()
    wait = time.monotonic() + 10
    while queue.last_beat() is None and time.monotonic() < wait:
        time.sleep(0.02)
    yield queue
    stop.set()
    thread.join(timeout=10)


def test_fire_waits_for_the_running_runtime_and_prints_the_result(
        project: Path, running: DeliveryQueue, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(project / ".local")]
    assert main([*data, "fire", "daily"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"swept": 3, "rule": "cli-test-local-daily"}
    assert "daily succeeded in" in captured.err

    assert main([*data, "fire", "hourly"]) == 1  # every attempt fails: the error, and how to retry
    err = capsys.readouterr().err
    assert "attempt 1 failed (RuntimeError: hourly is broken); it will be retried" in err
    assert "hourly failed after 3 attempt(s)" in err and "RuntimeError: hourly is broken" in err
    [failed] = running.failed_deliveries()
    assert f"make retry ID={failed.id}" in err


def test_deliveries_are_newest_first_a_page_at_a_time(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    queue = DeliveryQueue(queue_path(project / ".local"))
    ids = [queue.enqueue("event", f"handler_{n}", {"n": n}) for n in range(5)]
    data = ["--data-dir", str(project / ".local")]

    def listed(*args: str) -> tuple[list[str], str]:
        assert main([*data, "deliveries", *args]) == 0
        lines = capsys.readouterr().out.splitlines()
        return [line.split()[0] for line in lines[1:-1]], lines[-1]

    first, footer = listed("--limit", "2")
    assert first == [ids[4], ids[3]]
    assert footer.startswith("-- page 1 of 3, newest first: 2 of 5 shown") and "next: make deliveries PAGE=2 LIMIT=2" in footer
    assert listed("--limit", "2", "--page", "2")[0] == [ids[2], ids[1]]
    last, footer = listed("--limit", "2", "--page", "3")
    assert last == [ids[0]] and "next:" not in footer
    assert listed("--limit", "2", "--page", "9")[0] == []
    assert listed()[0] == ids[::-1]  # 20 a page by default
    assert listed("--status", "failed")[1].startswith("-- page 1 of 1, newest first: 0 of 0 failed shown")
