#!/usr/bin/env bash
# Tear one stage down:  deploy/destroy.sh dev   (or: make destroy STAGE=dev)
#
#   1. prerequisites; prod needs CONFIRM=prod
#   2. deploy/infra.yaml with FunctionsDeployed=false (drops the async invoke configs)
#   3. chalice delete: functions, roles, API, rules, the bucket's notification
#   4. empty the bucket (every version), delete the infra stack (bucket, table, queue, logs)
#   5. delete the SSM parameters under /collections/<stage>/ (KEEP_SECRETS=1 keeps them)
set -euo pipefail

STAGE="${1:-${STAGE:-dev}}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PY="${PY:-.venv/bin/python}"
CHALICE="${CHALICE:-$(dirname "$PY")/chalice}"

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

step "Checking prerequisites (stage $STAGE)"
command -v aws >/dev/null || die "the AWS CLI v2 is required"
[ -x "$PY" ] || die "no Python at $PY: run 'make venv' first (or set PY=/path/to/python)"
[ -x "$CHALICE" ] || die "no chalice at $CHALICE: run 'make venv' first"
REGION="$("$PY" deploy/stack.py region "$STAGE")" || die "unknown stage $STAGE"
export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"
ACCOUNT="$(aws sts get-caller-identity --query Account --output text)" || die "no AWS credentials"
echo "account $ACCOUNT, region $REGION"
if [ "$STAGE" = "prod" ] && [ "${CONFIRM:-}" != "prod" ]; then
  die "this deletes prod's bucket, table and secrets: rerun with CONFIRM=prod"
fi

BUCKET="$("$PY" deploy/stack.py name "$STAGE" bucket)"
PREFIX="$("$PY" deploy/stack.py name "$STAGE" ssm_prefix)"
INFRA="$("$PY" deploy/stack.py name "$STAGE" infra_stack)"
MONITORING="$("$PY" deploy/stack.py name "$STAGE" monitoring_stack)"

step "Deleting the alarms and dashboard ($MONITORING)"
aws cloudformation delete-stack --stack-name "$MONITORING"
aws cloudformation wait stack-delete-complete --stack-name "$MONITORING"

STACK_EXISTS=false
aws cloudformation describe-stacks --stack-name "$INFRA" >/dev/null 2>&1 && STACK_EXISTS=true

if $STACK_EXISTS; then
  step "Dropping the async invoke configs from $INFRA"
  mapfile -t params < <("$PY" deploy/stack.py params "$STAGE" false)
  aws cloudformation deploy --stack-name "$INFRA" --template-file deploy/infra.yaml \
    --parameter-overrides "${params[@]}" --no-fail-on-empty-changeset
fi

step "chalice delete --stage $STAGE"
if [ -f ".chalice/deployed/$STAGE.json" ]; then
  env -u DATABASE_URL -u JWT_SECRET -u LOCAL_DATA_DIR -u STAGE "$CHALICE" delete --stage "$STAGE"
else
  echo "no .chalice/deployed/$STAGE.json here: nothing chalice deployed from this checkout"
  echo "remaining functions named ai-backend-$STAGE-*:"
  aws lambda list-functions --query "Functions[?starts_with(FunctionName, 'ai-backend-$STAGE-')].FunctionName" --output text
fi

if aws s3api head-bucket --bucket "$BUCKET" >/dev/null 2>&1; then
  step "Emptying s3://$BUCKET (every object version)"
  "$PY" - "$BUCKET" <<'EOF'
import sys

import boto3

bucket = boto3.resource("s3").Bucket(sys.argv[1])
deleted = sum(len(r.get("Deleted", [])) for r in bucket.object_versions.delete())
print(f"deleted {deleted} object versions")
EOF
fi

if $STACK_EXISTS; then
  step "Deleting stack $INFRA (bucket, table, queue, log groups)"
  aws cloudformation delete-stack --stack-name "$INFRA"
  aws cloudformation wait stack-delete-complete --stack-name "$INFRA"
fi

if [ "${KEEP_SECRETS:-0}" = "1" ]; then
  step "Keeping the SSM parameters under $PREFIX/ (KEEP_SECRETS=1)"
else
  step "Deleting the SSM parameters under $PREFIX/"
  mapfile -t names < <(aws ssm get-parameters-by-path --path "$PREFIX" --query 'Parameters[].Name' --output text | tr '\t' '\n' | sed '/^$/d')
  for name in ${names[@]+"${names[@]}"}; do
    aws ssm delete-parameter --name "$name"
    echo "  deleted $name"
  done
fi

step "Stage $STAGE destroyed"
