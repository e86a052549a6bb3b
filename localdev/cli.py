"""``python -m localdev.cli``: run the local runtime and inspect its queue.

Subcommands: ``run`` (deliver until Ctrl-C), ``fire NAME`` (queue a schedule now),
``deliveries [--status failed]`` (table), ``retry ID`` (requeue a failed delivery).
The app is imported lazily from ``app.py`` in the current directory (``run`` and ``fire`` only).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from localdev.queue import STATUSES, DeliveryQueue

if TYPE_CHECKING:
    from localdev.runtime import LocalRuntime

QUEUE_FILE = "runtime.sqlite3"


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


def print_deliveries(queue: DeliveryQueue, status: str | None, limit: int) -> None:
    """A table of deliveries, with the last line of each error."""
    rows = queue.list(status, limit=limit)
    header = f"{'ID':32}  {'KIND':8}  {'TARGET':24}  {'STATUS':9}  {'TRIES':5}  {'UPDATED':19}  ERROR"
    print(header)
    for d in rows:
        error = (d.last_error or "").strip().splitlines()[-1:] or [""]
        print(
            f"{d.id:32}  {d.kind:8}  {d.target[:24]:24}  {d.status:9}  {d.attempts:5}  "
            f"{_fmt_time(d.updated_at):19}  {error[0][:120]}"
        )
    counts = queue.counts()
    print(f"-- {len(rows)} shown; " + ", ".join(f"{k} {v}" for k, v in counts.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev.cli", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="directory of runtime.sqlite3 (default: LOCAL_DATA_DIR)")
    parser.add_argument("--app", default="app", help="module exposing the Chalice `app` (default: app)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging (tracebacks)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="deliver events and run schedules until interrupted")
    run.add_argument("--workers", type=int, default=4)
    fire = sub.add_parser("fire", help="queue a schedule delivery now")
    fire.add_argument("name")
    deliveries = sub.add_parser("deliveries", help="list deliveries")
    deliveries.add_argument("--status", choices=STATUSES)
    deliveries.add_argument("--limit", type=int, default=200)
    retry = sub.add_parser("retry", help="requeue a failed delivery")
    retry.add_argument("id")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    queue = DeliveryQueue(queue_path(args.data_dir or default_data_dir()))
    try:
        if args.command == "deliveries":
            print_deliveries(queue, args.status, args.limit)
        elif args.command == "retry":
            delivery = queue.retry(args.id)
            print(f"requeued {delivery.id} ({delivery.kind} -> {delivery.target})")
        elif args.command == "fire":
            delivery_id = load_runtime(queue, args.app).fire(args.name)
            print(f"queued schedule {args.name}: delivery {delivery_id}")
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
