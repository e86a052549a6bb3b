"""The deployment package's size against Lambda's limits (50 MB zipped for a direct upload,
250 MB unzipped), with the largest top-level entries.

    .venv/bin/python deploy/package_size.py [--stage dev] [--zip path/to/deployment.zip]
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ZIPPED_LIMIT = 50 * 1024 * 1024
UNZIPPED_LIMIT = 250 * 1024 * 1024
GOAL = 0.60


def build(stage: str, out: Path) -> Path:
    chalice = Path(sys.executable).with_name("chalice")
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    subprocess.run([str(chalice), "package", "--pkg-format", "terraform", "--stage", stage, str(out)],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    return out / "deployment.zip"


def report(path: Path) -> dict[str, float]:
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    unzipped = sum(i.file_size for i in infos)
    zipped = path.stat().st_size
    by_entry: collections.Counter = collections.Counter()
    for info in infos:
        by_entry[info.filename.split("/")[0]] += info.file_size
    mb = 1024 * 1024
    print(f"{'deployment package':22}{'size MB':>10}{'limit MB':>10}{'share':>8}")
    print(f"{'zipped':22}{zipped / mb:>10.1f}{ZIPPED_LIMIT / mb:>10.0f}{zipped / ZIPPED_LIMIT:>8.0%}")
    print(f"{'unzipped':22}{unzipped / mb:>10.1f}{UNZIPPED_LIMIT / mb:>10.0f}{unzipped / UNZIPPED_LIMIT:>8.0%}")
    share = unzipped / UNZIPPED_LIMIT
    print(f"goal: unzipped <= {GOAL:.0%} of the limit -> {'OK' if share <= GOAL else 'OVER'}")
    print("largest entries (unzipped MB):")
    for name, size in by_entry.most_common(12):
        print(f"  {size / mb:8.1f}  {name}")
    return {"zipped": zipped, "unzipped": unzipped, "share": share}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--zip", type=Path)
    args = parser.parse_args()
    path = args.zip or build(args.stage, Path(tempfile.mkdtemp(prefix="pkg-")))
    report(path)


if __name__ == "__main__":
    main()
