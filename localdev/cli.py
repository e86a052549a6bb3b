"""``python -m localdev.cli``: run the local runtime and inspect its queue.

Subcommands: ``run`` (deliver until Ctrl-C), ``fire NAME`` (run a schedule now through the
running ``make run`` and print the handler's result), ``deliveries [--status failed] [--page N]``
(table, newest first), ``retry ID`` (requeue a failed delivery), ``logs`` (follow ``make run``'s
log). The app is imported lazily from ``app.py`` in the current directory (``run`` and ``fire``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from localdev.queue import STATUSES, Delivery, DeliveryQueue

if TYPE_CHECKING:
    from localdev.runtime import LocalRuntime

QUEUE_FILE = "runtime.sqlite3"
DEFAULT_PAGE_SIZE = 20
#: ``make fire`` waits only while a runtime has said it is alive this recently.
ALIVE_SECONDS = 10.0


def default_data_dir() -> Path:
    """``LOCAL_DATA_DIR`` from settings (``.local/`` in the project by default)."""
    from chalicelib.settings import load_settings

    return load_settings().local_data_dir


def queue_path(data_dir: Path) -> Path:
    """Where the runtime keeps its queue and schedule state."""
    return Path(data_dir) / QUEUE_FILE


def load_runtime(queue: DeliveryQueue, app_module: str = "app", workers: int = 4) -> LocalRuntime:
    """Import ``app_module`` from the current directory and build a runtime over ``queue``."""
    from localdev.runtime import LocalRuntime

    sys.path.insert(0, str(Path.cwd()))
    module = importlib.import_module(app_module)
    return LocalRuntime(module.app, queue, module=module, workers=workers)


def _fmt_time(t: float | None) -> str:
    return "-" if t is None else datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def print_deliveries(queue: DeliveryQueue, status: str | None, limit: int = DEFAULT_PAGE_SIZE, page: int = 1) -> None:
    """One page of deliveries, newest first, with the last line of each error."""
    limit, page = max(1, limit), max(1, page)
    rows = queue.list(status, limit=limit, offset=(page - 1) * limit, newest_first=True)
    counts = queue.counts()
    total = counts.get(status, 0) if status else sum(counts.values())
    pages = max(1, -(-total // limit))
    print(f"{'ID':32}  {'KIND':8}  {'TARGET':24}  {'STATUS':9}  {'TRIES':5}  {'UPDATED':19}  ERROR")
    for d in rows:
        error = (d.last_error or "").strip().splitlines()[-1:] or [""]
        print(
            f"{d.id:32}  {d.kind:8}  {d.target[:24]:24}  {d.status:9}  {d.attempts:5}  "
            f"{_fmt_time(d.updated_at):19}  {error[0][:120]}"
        )
    which = f" {status}" if status else ""
    footer = (f"-- page {page} of {pages}, newest first: {len(rows)} of {total}{which} shown; "
              + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if page < pages:
        footer += (f"; next: make deliveries PAGE={page + 1}" + (f" STATUS={status}" if status else "")
                   + (f" LIMIT={limit}" if limit != DEFAULT_PAGE_SIZE else ""))
    print(footer)


def runtime_alive(queue: DeliveryQueue) -> bool:
    """True when a runtime (``make run``) delivering from ``queue`` said so in the last few seconds."""
    beat = queue.last_beat()
    return beat is not None and queue.clock() - beat < ALIVE_SECONDS


def wait_for_delivery(queue: DeliveryQueue, delivery_id: str, timeout: float,
                      say: Callable[[str], None] | None = None, poll: float = 0.2) -> Delivery | None:
    """Wait until the delivery succeeded or failed for good; None when no runtime is alive to
    deliver it or it did not finish within ``timeout``. Failed attempts that will be retried
    are reported through ``say``."""
    say = say or (lambda _: None)
    deadline = time.monotonic() + timeout
    reported = 0
    while True:
        delivery = queue.get(delivery_id)
        if delivery.status in ("succeeded", "failed"):
            return delivery
        if delivery.status == "queued" and delivery.attempts > reported and delivery.last_error:
            reported = delivery.attempts
            say(f"attempt {delivery.attempts} failed ({_last_line(delivery.last_error)}); it will be retried")
        if time.monotonic() > deadline or not runtime_alive(queue):
            return None
        time.sleep(poll)


def _last_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[-1][:300]


def fire_and_wait(queue: DeliveryQueue, runtime_app: str, name: str, timeout: float) -> int:
    """``make fire``: queue schedule ``name``, wait for the running runtime to deliver it and
    print the handler's result (JSON on stdout; progress on stderr)."""
    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    delivery_id = load_runtime(queue, runtime_app).fire(name)
    if not runtime_alive(queue):
        say(f"queued schedule {name}: delivery {delivery_id}. No runtime is delivering: start `make run` "
            "(it runs the delivery then) and see the outcome with `make deliveries`.")
        return 3
    say(f"queued schedule {name}: delivery {delivery_id}; waiting for `make run` to deliver it")
    started = time.monotonic()
    delivery = wait_for_delivery(queue, delivery_id, timeout, say=say)
    if delivery is None:
        current = queue.get(delivery_id)
        say(f"still {current.status} after {time.monotonic() - started:.0f} s"
            + ("" if runtime_alive(queue) else " and `make run` stopped")
            + "; `make deliveries` shows how it ends")
        return 3
    took = time.monotonic() - started
    if delivery.status == "failed":
        say(f"{name} failed after {delivery.attempts} attempt(s) ({took:.1f} s):")
        say("\n".join((delivery.last_error or "").strip().splitlines()[-6:]))
        say(f"requeue it with: make retry ID={delivery.id}")
        return 1
    say(f"{name} succeeded in {took:.1f} s (delivery {delivery.id})")
    if delivery.result is None:
        say("the handler returned nothing")
    else:
        print(json.dumps(json.loads(delivery.result), indent=2))
    return 0


def follow_log(data_dir: Path, lines: int) -> int:
    """``make logs``: follow ``make run``'s log with ``tail -F`` (it waits for the file)."""
    from localdev.applog import log_path

    path = log_path(data_dir)
    print(f"following {path} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    os.execvp("tail", ["tail", "-n", str(lines), "-F", str(path)])
    return 0  # not reached


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev.cli", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="directory of runtime.sqlite3 (default: LOCAL_DATA_DIR)")
    parser.add_argument("--app", default="app", help="module exposing the Chalice `app` (default: app)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging (tracebacks)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="deliver events and run schedules until interrupted")
    run.add_argument("--workers", type=int, default=4)
    fire = sub.add_parser("fire", help="run a schedule now and print the handler's result")
    fire.add_argument("name")
    fire.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for the result")
    deliveries = sub.add_parser("deliveries", help="list deliveries, newest first, a page at a time")
    deliveries.add_argument("--status", choices=STATUSES)
    deliveries.add_argument("--limit", type=int, default=DEFAULT_PAGE_SIZE, help="deliveries per page (default 20)")
    deliveries.add_argument("--page", type=int, default=1, help="page number, 1 = the newest")
    logs = sub.add_parser("logs", help="follow the log of `make run` (.local/app.log)")
    logs.add_argument("--lines", type=int, default=50)
    retry = sub.add_parser("retry", help="requeue a failed delivery")
    retry.add_argument("id")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    data_dir = args.data_dir or default_data_dir()
    if args.command == "logs":
        return follow_log(data_dir, args.lines)
    queue = DeliveryQueue(queue_path(data_dir))
    try:
        if args.command == "deliveries":
            print_deliveries(queue, args.status, args.limit, args.page)
        elif args.command == "retry":
            delivery = queue.retry(args.id)
            print(f"requeued {delivery.id} ({delivery.kind} -> {delivery.target})")
        elif args.command == "fire":
            return fire_and_wait(queue, args.app, args.name, args.timeout)
        elif args.command == "run":
            runtime = load_runtime(queue, args.app, workers=args.workers)
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            try:
                runtime.run_forever(stop)
            except KeyboardInterrupt:
                stop.set()
    except (KeyError, ValueError, LookupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
