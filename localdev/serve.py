"""``make run``: ``chalice local`` for HTTP plus the local runtime for every other event source.

1. resolves the database (the embedded PostgreSQL + pgvector under ``.local/pg`` unless
   DATABASE_URL is set) and migrates it;
2. starts ``chalice local --stage local`` (``local/http.py``) as a child process, handing it
   DATABASE_URL;
3. runs the local runtime here: S3 events, EventBridge events, schedules, async invokes;
4. prints a ready line once ``GET /health`` answers, with the time since ``make run`` began
   (``MAKE_RUN_STARTED``, set by the Makefile before it checks the virtualenv; else this
   process's start), and stops both on Ctrl-C / SIGTERM;
5. restarts both (a fresh process, so the runtime runs the new handlers too) when a source file
   of the app changes (``localdev/reload.py``), unless ``--no-autoreload``. A change that
   breaks the app is logged and the next change starts it again.

Everything both processes print goes to the console and to ``.local/app.log``
(``localdev/applog.py``; ``make logs`` follows it): plain lines on a terminal, one per
request and per delivery, JSON lines otherwise (:func:`chalicelib.logs.choose_format`).
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
import warnings
from pathlib import Path

from chalicelib.settings import PROJECT_ROOT
from localdev import applog
from localdev.http import PROBE_HEADER
from localdev.reload import SourceWatcher

log = logging.getLogger("local.serve")

#: Epoch seconds when ``make run`` began (the Makefile sets it; a restart resets it).
STARTED_ENV = "MAKE_RUN_STARTED"


def started_at(environ: dict[str, str] | None = None) -> float:
    """When this start began (epoch seconds): ``MAKE_RUN_STARTED``, else the process's start."""
    raw = (os.environ if environ is None else environ).get(STARTED_ENV, "")
    for text in (raw, raw.split(".", 1)[0]):  # `date +%s.%N` where %N is unsupported: "1796283744.N"
        try:
            return float(text)
        except ValueError:
            pass
    try:  # Linux: the process's start in clock ticks since boot
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return _IMPORTED_AT


_IMPORTED_AT = time.time()


def _wait_healthy(url: str, child: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.poll() is None:
        try:
            request = urllib.request.Request(url, headers={PROBE_HEADER: "1"})
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - loopback only
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def _stop_child(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


def _restart(argv: list[str], reason: str) -> None:
    """Replace this process with a fresh ``make run`` (same arguments, same PID)."""
    log.info("%s: restarting", reason)
    os.environ[STARTED_ENV] = f"{time.time():.3f}"
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "localdev.serve", *argv])


def _wait_for_change(watcher: SourceWatcher, stop: threading.Event) -> Path | None:
    while not stop.wait(1.0):
        changed = watcher.changed()
        if changed is not None:
            return changed
    return None


def _say_what_offline_providers_can_do() -> None:
    """Once at start-up: the offline stand-ins' packages (development dependencies) are present,
    or what each stand-in does without its package. Checked without importing them."""
    from chalicelib.providers.offline_vision import ocr_status
    from chalicelib.providers.static_embedder import wordllama_status

    ocr, embedder = ocr_status(), wordllama_status()
    if ocr is None and embedder is None:
        log.info("offline providers: OCR (rapidocr-onnxruntime) and WordLlama embeddings available")
    if ocr is not None:
        log.warning("offline providers: %s; images are analysed from their features only "
                    "(pip install -r requirements-dev.txt)", ocr)
    if embedder is not None:
        log.warning("offline providers: %s; embeddings fall back to feature hashing, which matches words, "
                    "not meaning (pip install -r requirements-dev.txt)", embedder)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="make run", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--no-autoreload", action="store_true",
                        help="do not restart when a source file of the app changes (tests, load runs)")
    args = parser.parse_args(argv)
    watcher = None if args.no_autoreload else SourceWatcher(PROJECT_ROOT)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    # pgserver asks platformdirs for a runtime dir it does not use; on machines without
    # XDG_RUNTIME_DIR that prints a warning on every start.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    os.environ.setdefault("STAGE", "local")
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://{args.host}:{args.port}")
    started = started_at()
    from chalicelib import logs

    # One format for both processes, chosen by what our stdout is (the child's is a pipe).
    os.environ["LOG_FORMAT"] = logs.choose_format(os.environ.get("LOG_FORMAT", ""), sys.stdout)
    data_dir = Path(os.environ.get("LOCAL_DATA_DIR") or PROJECT_ROOT / ".local")
    out = applog.AppLog(applog.log_path(data_dir), sys.stdout)
    sys.stdout = out  # type: ignore[assignment] - every line this process prints is kept too
    logs.configure(os.environ.get("LOG_LEVEL", "INFO").upper(), stream=out)
    try:
        from chalicelib import wiring
        from chalicelib.settings import get_settings

        settings = get_settings()
        database_url = wiring.database_url()
        log.info("database ready, %.1f s after the start", time.time() - started)
        _say_what_offline_providers_can_do()
        import app  # noqa: F401 - registers the local stage; a broken edit fails here

        runtime = wiring.local_runtime()
    except Exception:
        if watcher is None:
            raise
        log.exception("the app failed to start; waiting for a source change")
        changed = _wait_for_change(watcher, stop)
        if changed is None:
            return 1
        _restart(argv, f"{changed.relative_to(PROJECT_ROOT)} changed")

    env = {**os.environ, "DATABASE_URL": database_url, "LOCAL_DATA_DIR": str(settings.local_data_dir)}
    # `chalice local` with JSON logs and no query strings in access lines (local/http.py). Its own
    # reloader watches every file under the project, .venv/ and .local/ included, and so
    # restarts all the time: ours (reload.py) watches the app's source only.
    command = [sys.executable, "-m", "localdev.http", "--stage", "local", "--host", args.host,
               "--port", str(args.port), "--no-autoreload"]
    child = subprocess.Popen(command, cwd=PROJECT_ROOT, env={**env, "PYTHONUNBUFFERED": "1"},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    threading.Thread(target=applog.forward, args=(child.stdout, out), name="chalice-local-output",
                     daemon=True).start()

    halt = threading.Event()  # stops the runtime: on Ctrl-C / SIGTERM and before a restart
    runner = threading.Thread(target=runtime.run_forever, args=(halt,), name="local-runtime", daemon=True)
    runner.start()

    base = f"http://{args.host}:{args.port}"
    if _wait_healthy(f"{base}/health", child, timeout=60):
        log.info("ready in %.1f s: %s (GET /health); runtime delivering from %s; log in %s%s",
                 time.time() - started, base, settings.local_data_dir, out.path,
                 "" if watcher is None else "; restarts when the app's source changes")
    elif watcher is None:
        log.error("chalice local did not become healthy at %s/health", base)
        _stop_child(child)  # the loop below sees it gone and returns its failure

    changed: Path | None = None
    try:
        while not stop.is_set():
            if child.poll() is not None:
                if watcher is None:
                    break
                log.error("chalice local exited with %s; waiting for a source change", child.returncode)
                changed = _wait_for_change(watcher, stop)
                break
            changed = watcher.changed() if watcher is not None else None
            if changed is not None:
                break
            stop.wait(1.0)
    finally:
        halt.set()
        _stop_child(child)
        runner.join(timeout=30)
    if changed is not None and not stop.is_set():
        _restart(argv, f"{changed.relative_to(PROJECT_ROOT)} changed")
    if stop.is_set():  # Ctrl-C / SIGTERM: a clean stop, whatever the terminated child returned
        return 0
    return child.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
