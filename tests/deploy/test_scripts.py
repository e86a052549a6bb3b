"""deploy.sh and destroy.sh run end to end against a recording stand-in for the AWS CLI and
``chalice`` (no AWS here): the steps, their order, and that a missing secret stops a deploy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy import stack

FAKE_AWS = r"""#!/usr/bin/env bash
# Records each call; answers from files under $FAKE_STATE (ssm/<name with / as _>, exists/<what>).
echo "aws $*" >> "$FAKE_LOG"
key() { echo "$1" | tr '/' '_'; }
arg() { local want="$1"; shift; while [ $# -gt 0 ]; do [ "$1" = "$want" ] && { echo "$2"; return; }; shift; done; }
case "$1 $2" in
  "sts get-caller-identity") echo 123456789012 ;;
  "lambda get-account-settings") echo "${FAKE_CONCURRENCY:-1000}" ;;
  "ssm get-parameter") f="$FAKE_STATE/ssm/$(key "$(arg --name "$@")")"; [ -f "$f" ] && cat "$f" || exit 254 ;;
  "ssm put-parameter") printf '%s' "$(arg --value "$@")" > "$FAKE_STATE/ssm/$(key "$(arg --name "$@")")" ;;
  "ssm get-parameters-by-path") ls "$FAKE_STATE/ssm" | tr '_' '/' | paste -sd '\t' ;;
  "ssm delete-parameter") rm -f "$FAKE_STATE/ssm/$(key "$(arg --name "$@")")" ;;
  "lambda get-function") [ -f "$FAKE_STATE/exists/functions" ] || exit 254 ;;
  "cloudformation describe-stacks") [ -f "$FAKE_STATE/exists/stack" ] || exit 254 ;;
  "s3api head-bucket") exit 254 ;;
  *) : ;;
esac
"""

FAKE_CHALICE = """#!/usr/bin/env bash
echo "chalice $* STAGE=${STAGE:-unset} DATABASE_URL=${DATABASE_URL:-unset}" >> "$FAKE_LOG"
[ "$1" = url ] && echo "https://abc.execute-api.us-east-1.amazonaws.com/api/"
exit 0
"""


@pytest.fixture
def fake(tmp_path: Path) -> dict[str, str]:
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    for d in (bin_dir, state / "ssm", state / "exists"):
        d.mkdir(parents=True)
    for name, text in (("aws", FAKE_AWS), ("chalice", FAKE_CHALICE)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_LOG": str(tmp_path / "calls.log"),
            "FAKE_STATE": str(state), "PY": sys.executable, "CHALICE": str(bin_dir / "chalice"),
            "DATABASE_URL": "postgresql://local-only", "STAGE": "local"}


def _run(script: str, stage: str, env: dict[str, str], **extra: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    result = subprocess.run([str(stack.ROOT / "deploy" / script), stage], cwd=stack.ROOT, capture_output=True,
                            text=True, timeout=300, env={**os.environ, **env, **extra})
    log = Path(env["FAKE_LOG"])
    return result, log.read_text().splitlines() if log.exists() else []


def _secret(env: dict[str, str], name: str, value: str) -> None:
    (Path(env["FAKE_STATE"]) / "ssm" / f"_collections_dev_{name}").write_text(value)


def test_deploy_stops_until_the_database_url_is_filled(fake: dict[str, str]) -> None:
    result, calls = _run("deploy.sh", "dev", fake)
    assert result.returncode != 0 and "placeholder" in result.stderr
    assert "/collections/dev/DATABASE_URL (required; placeholder created)" in result.stdout
    ssm = Path(fake["FAKE_STATE"]) / "ssm"
    assert (ssm / "_collections_dev_DATABASE_URL").read_text() == "REPLACE_ME"
    assert len((ssm / "_collections_dev_JWT_SECRET").read_text()) >= 48  # generated, random
    assert not (ssm / "_collections_dev_ANTHROPIC_API_KEY").exists()  # optional: left absent
    assert not any(c.startswith(("aws cloudformation", "chalice")) for c in calls)
    assert (ssm / "_collections_dev_JWT_SECRET").read_text() not in result.stdout + result.stderr


def test_deploy_runs_every_step_in_order(fake: dict[str, str]) -> None:
    _secret(fake, "DATABASE_URL", "postgresql://u:p@db:5432/c")
    _secret(fake, "JWT_SECRET", "s" * 48)
    result, calls = _run("deploy.sh", "dev", fake)
    assert result.returncode == 0, result.stdout + result.stderr
    steps = [c for c in calls if c.startswith(("aws cloudformation deploy", "chalice deploy"))]
    assert len(steps) == 4
    assert "FunctionsDeployed=false" in steps[0] and "--stack-name ai-backend-dev-infra" in steps[0]
    assert steps[1] == "chalice deploy --stage dev STAGE=unset DATABASE_URL=unset"  # no local settings leak in
    assert "FunctionsDeployed=true" in steps[2]
    assert "--stack-name ai-backend-dev-monitoring --template-file deploy/monitoring.json" in steps[3]
    assert "FailuresQueueName=ai-backend-dev-async-failures" in steps[3] and "Stage=dev" in steps[3]
    assert "BucketName=ai-backend-images-dev" in steps[0] and "LogRetentionInDays=14" in steps[0]
    assert "postgresql://u:p@db" not in result.stdout + result.stderr
    assert "https://abc.execute-api" in result.stdout


def test_deploy_refuses_an_account_that_cannot_reserve_concurrency(fake: dict[str, str]) -> None:
    result, calls = _run("deploy.sh", "dev", fake, FAKE_CONCURRENCY="10")
    assert result.returncode != 0 and "concurrency limit is 10" in result.stderr
    assert not any(c.startswith("aws ssm put-parameter") for c in calls)


def test_destroy_tears_down_in_order_and_guards_prod(fake: dict[str, str]) -> None:
    result, calls = _run("destroy.sh", "prod", fake)
    assert result.returncode != 0 and "CONFIRM=prod" in result.stderr
    (Path(fake["FAKE_STATE"]) / "exists" / "stack").touch()
    _secret(fake, "DATABASE_URL", "postgresql://u:p@db:5432/c")
    result, calls = _run("destroy.sh", "dev", fake)
    assert result.returncode == 0, result.stdout + result.stderr
    order = [c.split()[1] + " " + c.split()[2] for c in calls
             if c.startswith(("aws cloudformation deploy", "aws cloudformation delete-stack", "aws ssm delete-parameter"))]
    assert order == ["cloudformation delete-stack", "cloudformation deploy", "cloudformation delete-stack",
                     "ssm delete-parameter"]
    assert "--stack-name ai-backend-dev-monitoring" in next(c for c in calls if "delete-stack" in c)
    assert not list((Path(fake["FAKE_STATE"]) / "ssm").iterdir())
