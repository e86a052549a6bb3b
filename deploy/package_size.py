"""The deployment package's size against Lambda's limits (50 MB zipped for a direct upload,
250 MB unzipped; goal: at most 60% of the unzipped limit), with the largest entries.

    .venv/bin/python deploy/package_size.py [--stage dev] [--slim | --plain] [--zip path/to/deployment.zip]

It runs ``chalice package`` (offline once Chalice's dependency zip is cached in
``.chalice/deployments/``); ``--slim`` first slims that cached zip (deploy/slim.py), which is
what ``chalice deploy`` then uploads; ``--plain`` packages a copy of what Chalice deploys (app.py,
chalicelib/, requirements.txt, .chalice/*.json) with an empty dependency cache, i.e. what a plain
``chalice deploy`` on a fresh checkout uploads (dependencies from pip, or its cache when offline). Exits 1 when the package is over one of Lambda's limits
(the 60% goal is reported, and enforced by tests/deploy/test_slim.py).
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

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deploy import slim as slimmer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
ZIPPED_LIMIT = 50 * MB
UNZIPPED_LIMIT = 250 * MB
GOAL = 0.60
#: A plain ``chalice package`` must stay below this share of the unzipped limit.
PLAIN_CEILING = 0.90


def build(stage: str, out: Path, project: Path = ROOT) -> Path:
    """``chalice package`` for ``stage`` into ``out``; returns the deployment zip."""
    chalice = Path(sys.executable).with_name("chalice")
    env = {k: v for k, v in os.environ.items() if k not in {"STAGE", "DATABASE_URL", "LOCAL_DATA_DIR"}}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    subprocess.run([str(chalice), "package", "--pkg-format", "terraform", "--stage", stage, str(out)],
                   cwd=project, env=env, check=True, capture_output=True)
    return out / "deployment.zip"


def build_plain(stage: str, out: Path, cache: Path | None = None, max_age_hours: float = 24) -> Path:
    """``chalice package`` of a copy of the deployed sources with an empty dependency cache.

    With ``cache``, Chalice's dependency zip (named after an md5 of requirements.txt, so any
    change to it misses) is kept there and reused for ``max_age_hours``; older ones are resolved
    from the index again, so new releases of a dependency show up within a day."""
    import shutil
    import time

    project = out / "project"
    deployments = project / ".chalice" / "deployments"
    deployments.mkdir(parents=True)
    shutil.copy(ROOT / "app.py", project)
    shutil.copy(ROOT / "requirements.txt", project)
    shutil.copytree(ROOT / "chalicelib", project / "chalicelib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for config in (ROOT / ".chalice").glob("*.json"):
        shutil.copy(config, project / ".chalice")
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        for cached in cache.glob("*.zip"):
            if time.time() - cached.stat().st_mtime > max_age_hours * 3600:
                cached.unlink()
            else:
                shutil.copy2(cached, deployments)
    built = build(stage, out / "package", project=project)
    if cache is not None:
        for dependencies in deployments.glob("*.zip"):
            if not (cache / dependencies.name).exists():
                shutil.copy2(dependencies, cache)
    return built


def build_slim(stage: str, out: Path) -> Path:
    """Build once to fill Chalice's cache, slim the cached package, package again (reused)."""
    build(stage, out / "first")
    slimmer.slim(slimmer.cache_zip())
    return build(stage, out / "slim")


def measure(path: Path) -> dict[str, float]:
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    unzipped = sum(i.file_size for i in infos)
    zipped = path.stat().st_size
    return {"zipped": zipped, "unzipped": unzipped, "share": unzipped / UNZIPPED_LIMIT,
            "zipped_share": zipped / ZIPPED_LIMIT}


def report(path: Path) -> dict[str, float]:
    figures = measure(path)
    by_entry: collections.Counter = collections.Counter()
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            by_entry[info.filename.split("/")[0]] += info.file_size
    print(f"{'deployment package':22}{'size MB':>10}{'limit MB':>10}{'share':>8}")
    print(f"{'zipped':22}{figures['zipped'] / MB:>10.1f}{ZIPPED_LIMIT / MB:>10.0f}{figures['zipped_share']:>8.0%}")
    print(f"{'unzipped':22}{figures['unzipped'] / MB:>10.1f}{UNZIPPED_LIMIT / MB:>10.0f}{figures['share']:>8.0%}")
    ok = figures["share"] <= GOAL and figures["zipped"] <= ZIPPED_LIMIT
    print(f"goal: unzipped <= {GOAL:.0%} of the limit and zipped <= the limit -> {'OK' if ok else 'OVER'}")
    print("largest entries (unzipped MB):")
    for name, size in by_entry.most_common(10):
        print(f"  {size / MB:8.1f}  {name}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--slim", action="store_true", help="slim Chalice's cached dependencies first")
    kind.add_argument("--plain", action="store_true", help="a fresh checkout's plain `chalice package`")
    parser.add_argument("--zip", type=Path, help="measure this zip instead of building one")
    args = parser.parse_args(argv)
    out = Path(tempfile.mkdtemp(prefix="pkg-"))
    if args.zip:
        path = args.zip
    else:
        path = (build_slim(args.stage, out) if args.slim else build_plain(args.stage, out) if args.plain
                else build(args.stage, out))
    figures = report(path)
    return 0 if figures["unzipped"] <= UNZIPPED_LIMIT and figures["zipped"] <= ZIPPED_LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
