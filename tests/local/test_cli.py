"""The local runtime CLI against an app.py in a temporary project directory."""

from __future__ import annotations

import sys
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
    assert main([*data, "fire", "hourly"]) == 0
    assert "queued schedule hourly" in capsys.readouterr().out
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
