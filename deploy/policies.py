"""Render deploy/stack.py into the files Chalice reads: one IAM policy per function and stage
(``.chalice/policy-<stage>-<function>.json``) and the stages of ``.chalice/config.json``
(memory, timeout, reserved concurrency, log retention, per-function environment, X-Ray), plus
the alarms and dashboard template ``deploy/monitoring.json`` (deploy/monitoring.py).

    python deploy/policies.py           # write them
    python deploy/policies.py --check   # exit 1 if any is out of date (tests/deploy runs this)

Chalice cannot template its policy files, so each stage gets its own, scoped to that stage's
bucket, table, parameters, queue and worker. Other stages in config.json (``local``) and the
top-level keys are left as they are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deploy import monitoring, stack  # noqa: E402

CHALICE_DIR = stack.ROOT / ".chalice"
CONFIG = CHALICE_DIR / "config.json"
MONITORING = stack.ROOT / "deploy" / "monitoring.json"
STAGES = stack.stages()
NEEDS = stack.FUNCTIONS
EXCEPTIONS = stack.EXCEPTIONS


def policy(stage: str, function: str) -> dict:
    return stack.policy(stage, function)


def policy_path(stage: str, function: str) -> Path:
    return CHALICE_DIR / stack.policy_filename(stage, function)


def _dump(value: object) -> str:
    return json.dumps(value, indent=2) + "\n"


def rendered() -> dict[Path, str]:
    """Every generated file and its expected text."""
    files = {policy_path(s, f): _dump(policy(s, f)) for s in STAGES for f in stack.FUNCTIONS}
    config = json.loads(CONFIG.read_text())
    for stage in STAGES:
        config["stages"][stage] = stack.chalice_stage(stage)
    files[CONFIG] = _dump(config)
    files[MONITORING] = _dump(monitoring.template())
    return files


def stale_policy_files() -> list[Path]:
    """Policy files for functions or stages that no longer exist."""
    keep = {policy_path(s, f) for s in STAGES for f in stack.FUNCTIONS}
    return sorted(p for p in CHALICE_DIR.glob("policy-*.json") if p not in keep)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a generated file is out of date")
    args = parser.parse_args(argv)
    files = rendered()
    if args.check:
        stale = [p.name for p, text in files.items() if not p.exists() or p.read_text() != text]
        stale += [p.name for p in stale_policy_files()]
        if stale:
            print(f"out of date (run python deploy/policies.py): {', '.join(stale)}", file=sys.stderr)
            return 1
        return 0
    for path, text in files.items():
        path.write_text(text)
    for path in stale_policy_files():
        path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
