"""Sum the local stage's EMF metrics: what CloudWatch would chart, read from ``.local/metrics.jsonl``.

``make metrics`` (or ``python -m localdev.metrics [--since MINUTES] [--json]``) prints
one row per metric and dimension value: how many data points, their sum, and for timings the
mean, p50, p99 and maximum. Every handler invocation, generator run, pipeline stage and sweeper
run writes its EMF line there as well as to stdout (:mod:`chalicelib.observability`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_TIMINGS = {"Milliseconds", "Seconds", "Microseconds"}


@dataclass
class Series:
    """The data points of one metric under one set of dimension values."""

    metric: str
    dimensions: tuple[tuple[str, str], ...]
    unit: str
    values: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        values = sorted(self.values)
        row: dict[str, Any] = {
            "metric": self.metric, "dimensions": dict(self.dimensions), "unit": self.unit,
            "count": len(values), "sum": round(sum(values), 3),
        }
        if self.unit in _TIMINGS and values:
            row.update(mean=round(sum(values) / len(values), 3), p50=percentile(values, 50),
                       p99=percentile(values, 99), max=values[-1])
        return row


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def read_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The EMF documents in ``path`` (lines that are not JSON objects are skipped)."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(doc, dict) and "_aws" in doc:
                yield doc


def aggregate(docs: Iterable[dict[str, Any]], since_ms: int | None = None) -> list[Series]:
    """Group every metric value by (metric, dimension values), as CloudWatch does."""
    series: dict[tuple[str, tuple[tuple[str, str], ...]], Series] = {}
    for doc in docs:
        meta = doc["_aws"]
        if since_ms is not None and meta.get("Timestamp", 0) < since_ms:
            continue
        for directive in meta.get("CloudWatchMetrics", []):
            for dimension_set in directive.get("Dimensions", [[]]):
                dims = tuple((name, str(doc.get(name))) for name in dimension_set)
                for metric in directive.get("Metrics", []):
                    value = doc.get(metric["Name"])
                    if not isinstance(value, (int, float)):
                        continue
                    key = (metric["Name"], dims)
                    if key not in series:
                        series[key] = Series(metric["Name"], dims, metric.get("Unit", "None"))
                    series[key].values.append(float(value))
    return sorted(series.values(), key=lambda s: (s.metric, s.dimensions))


def render(rows: list[dict[str, Any]]) -> str:
    """A fixed-width table of summaries."""
    if not rows:
        return "no metrics recorded yet (run the app: make run)"
    header = f"{'metric':<18} {'dimensions':<38} {'count':>7} {'sum':>12} {'p50':>10} {'p99':>10} {'max':>10}"
    lines = [header, "-" * len(header)]
    for row in rows:
        dims = ",".join(f"{k}={v}" for k, v in row["dimensions"].items())
        timing = [f"{row[k]:>10.2f}" if k in row else f"{'':>10}" for k in ("p50", "p99", "max")]
        lines.append(f"{row['metric']:<18} {dims[:38]:<38} {row['count']:>7} {row['sum']:>12g} {' '.join(timing)}"
                     + (f"  {row['unit']}" if "p50" in row else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from chalicelib.observability import local_metrics_file

    parser = argparse.ArgumentParser(prog="make metrics", description=__doc__.splitlines()[0])
    parser.add_argument("--since", type=float, metavar="MINUTES", help="only the last MINUTES minutes")
    parser.add_argument("--json", action="store_true", help="one JSON summary per line")
    parser.add_argument("--file", type=Path, help="metrics file (default: <LOCAL_DATA_DIR>/metrics.jsonl)")
    args = parser.parse_args(argv)
    path = args.file or local_metrics_file()
    if path is None:
        print("metrics are only kept in a file in the local stage (STAGE=local)", file=sys.stderr)
        return 2
    since = int((time.time() - args.since * 60) * 1000) if args.since else None
    rows = [s.summary() for s in aggregate(read_lines(path), since)]
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print(render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
