"""`make run` in a child process for tests and benchmarks: chalice local + the local runtime on
a free loopback port, over the given database, with its state in its own folder."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], Any], timeout: float = 45.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError("timed out waiting")


def healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=5) as response:  # noqa: S310 - loopback
            return response.status == 200 and json.loads(response.read()).get("status") == "ok"
    except (OSError, urllib.error.URLError, ValueError):
        return False


@contextlib.contextmanager
def local_server(data_dir: Path, database_url: str, jwt_secret: str,
                 extra_env: dict[str, str] | None = None,
                 autoreload: bool = False) -> Iterator[tuple[str, dict[str, str]]]:
    """Yield (base URL, environment) of a running `python -m localdev.serve`; its output
    goes to ``data_dir/serve.log``. ``autoreload`` as `make run` has it (off: a test's edit of
    the tree must not restart another test's server)."""
    port = free_port()
    env = {**os.environ, "STAGE": "local", "LOCAL_DATA_DIR": str(data_dir), "DATABASE_URL": database_url,
           "JWT_SECRET": jwt_secret, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir / "serve.log").open("w")
    command = [sys.executable, "-m", "localdev.serve", "--port", str(port)]
    if not autoreload:
        command.append("--no-autoreload")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: healthy(base) or process.poll() is not None, timeout=90)
        if process.poll() is not None:
            raise RuntimeError(f"the local server exited: see {data_dir / 'serve.log'}")
        yield base, env
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
