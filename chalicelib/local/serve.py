"""``make run``: ``chalice local`` for HTTP plus the local runtime for every other event source.

1. resolves the database (the embedded PostgreSQL + pgvector under ``.local/pg`` unless
   DATABASE_URL is set) and migrates it;
2. starts ``chalice local --stage local`` as a child process, handing it DATABASE_URL;
3. runs the local runtime here: S3 events, EventBridge events, schedules, async invokes;
4. prints a ready line once ``GET /health`` answers, and stops both on Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from chalicelib.settings import PROJECT_ROOT

log = logging.getLogger("local.serve")


def _wait_healthy(url: str, child: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--no-autoreload", action="store_true",
                        help="do not restart chalice local when a source file changes (tests, load runs)")
    args = parser.parse_args(argv)

    os.environ.setdefault("STAGE", "local")
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://{args.host}:{args.port}")
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    from chalicelib import wiring
    from chalicelib.settings import get_settings

    settings = get_settings()
    started = time.monotonic()
    database_url = wiring.database_url()
    log.info("database ready in %.1f s", time.monotonic() - started)

    env = {**os.environ, "DATABASE_URL": database_url, "LOCAL_DATA_DIR": str(settings.local_data_dir)}
    chalice = Path(sys.executable).with_name("chalice")
    command = [str(chalice), "local", "--stage", "local", "--host", args.host, "--port", str(args.port)]
    if args.no_autoreload:
        command.append("--no-autoreload")
    child = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    runtime = wiring.local_runtime()
    runner = threading.Thread(target=runtime.run_forever, args=(stop,), name="local-runtime", daemon=True)
    runner.start()

    base = f"http://{args.host}:{args.port}"
    if _wait_healthy(f"{base}/health", child, timeout=60):
        log.info("ready in %.1f s: %s (GET /health); runtime delivering from %s",
                 time.monotonic() - started, base, settings.local_data_dir)
    else:
        log.error("chalice local did not become healthy at %s/health", base)
        stop.set()

    try:
        while not stop.is_set() and child.poll() is None:
            stop.wait(0.5)
    finally:
        stop.set()
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        runner.join(timeout=30)
    return child.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
