"""Cold-start import cost: ``import app`` against a minimal one-route Chalice app.

Each sample is a fresh interpreter (as a Lambda cold start is), timed from inside with
``time.perf_counter`` around the import only, so interpreter start-up is excluded from both.
Goal: our app.py imports within 1.5x of the minimal app.

    .venv/bin/python benchmarks/bench_cold_start.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MINIMAL_APP = '''
from chalice import Chalice

app = Chalice(app_name="minimal")


@app.route("/")
def index():
    return {"hello": "world"}
'''

PROBE = (
    "import time, sys\n"
    "t = time.perf_counter()\n"
    "import app\n"
    "print(time.perf_counter() - t)\n"
)


def sample(cwd: Path, runs: int) -> list[float]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0", "STAGE": "local"}
    subprocess.run([sys.executable, "-c", "import app"], cwd=cwd, env=env, check=True)  # warm .pyc
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", PROBE], cwd=cwd, env=env, check=True,
                             capture_output=True, text=True).stdout
        times.append(float(out.strip()) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "app.py").write_text(MINIMAL_APP)
        # Interleave nothing: each side is sampled in its own fresh interpreters.
        minimal = sample(Path(tmp), args.runs)
    ours = sample(ROOT, args.runs)
    ours_p50, base_p50 = statistics.median(ours), statistics.median(minimal)
    print(f"{'':24}{'p50 ms':>10}{'min ms':>10}{'max ms':>10}")
    print(f"{'app.py (ours)':24}{ours_p50:>10.1f}{min(ours):>10.1f}{max(ours):>10.1f}")
    print(f"{'minimal Chalice app':24}{base_p50:>10.1f}{min(minimal):>10.1f}{max(minimal):>10.1f}")
    ratio = ours_p50 / base_p50
    print(f"ratio ours/minimal (p50): {ratio:.2f}x  (goal <= 1.50x) -> {'OK' if ratio <= 1.5 else 'OVER'}")


if __name__ == "__main__":
    main()
