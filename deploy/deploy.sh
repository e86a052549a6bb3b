#!/usr/bin/env bash
# Deploy the whole app for one stage:  deploy/deploy.sh dev   (or: make deploy STAGE=dev)
#
#   1. prerequisites: aws CLI, credentials, python + chalice, generated files in sync
#   2. SSM SecureStrings under /collections/<stage>/ (JWT_SECRET generated; placeholders
#      created for the others you must fill; optional ones may stay absent)
#   3. deploy/infra.yaml: bucket, tasks table, async-failure queue, log groups
#   4. the deployment package, slimmed (deploy/slim.py) and checked against Lambda's limits
#   5. chalice deploy: functions, roles (our policy files), API, schedules, EventBridge rules,
#      the S3 notification on the bucket
#   6. deploy/infra.yaml again with FunctionsDeployed=true: retries, maximum event age and
#      on-failure destination for the async functions
#   7. deploy/monitoring.json: alarms (errors, duration, throttles, failed events, stuck tasks)
#      and the dashboard; ALARM_EMAIL=you@example.com subscribes an address to the alarms
set -euo pipefail

STAGE="${1:-${STAGE:-dev}}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PY="${PY:-.venv/bin/python}"
CHALICE="${CHALICE:-$(dirname "$PY")/chalice}"
PLACEHOLDER="REPLACE_ME"

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

step "Checking prerequisites (stage $STAGE)"
command -v aws >/dev/null || die "the AWS CLI v2 is required: https://docs.aws.amazon.com/cli/"
[ -x "$PY" ] || die "no Python at $PY: run 'make venv' first (or set PY=/path/to/python)"
[ -x "$CHALICE" ] || die "no chalice at $CHALICE: run 'make venv' first"
"$PY" deploy/stack.py region "$STAGE" >/dev/null || die "unknown stage $STAGE: add it to deploy/stages.json"
REGION="$("$PY" deploy/stack.py region "$STAGE")"
if [ -n "${AWS_REGION:-}" ] && [ "$AWS_REGION" != "$REGION" ]; then
  echo "note: AWS_REGION=$AWS_REGION but deploy/stages.json puts $STAGE in $REGION (the policies are scoped to it); using $REGION"
fi
export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"
ACCOUNT="$(aws sts get-caller-identity --query Account --output text)" \
  || die "no AWS credentials: configure a profile (aws configure / AWS_PROFILE) and retry"
echo "account $ACCOUNT, region $REGION"
RESERVED="$("$PY" -c 'from deploy import stack; print(sum(f.reserved_concurrency or 0 for f in stack.FUNCTIONS.values()))')"
LIMIT="$(aws lambda get-account-settings --query AccountLimit.ConcurrentExecutions --output text)"
[ "$LIMIT" -ge $((RESERVED + 10)) ] || die "the account's Lambda concurrency limit is $LIMIT; reserving $RESERVED for the schedules needs at least $((RESERVED + 10)) (Lambda keeps 10 unreserved): request a Service Quotas increase"
"$PY" deploy/policies.py --check || die "generated config/policies are stale: run $PY deploy/policies.py and commit"

BUCKET="$("$PY" deploy/stack.py name "$STAGE" bucket)"
PREFIX="$("$PY" deploy/stack.py name "$STAGE" ssm_prefix)"
INFRA="$("$PY" deploy/stack.py name "$STAGE" infra_stack)"
WORKER="$("$PY" deploy/stack.py name "$STAGE" worker)"

step "SSM parameters under $PREFIX/ (values are never printed)"
missing=()
mapfile -t secrets < <("$PY" deploy/stack.py secrets)
for line in "${secrets[@]}"; do
  read -r name kind <<<"$line"
  param="$PREFIX/$name"
  if value="$(aws ssm get-parameter --name "$param" --with-decryption --query Parameter.Value --output text 2>/dev/null)"; then
    if [ "$value" = "$PLACEHOLDER" ]; then
      missing+=("$param ($kind)")
    else
      echo "  ok       $param"
    fi
  elif [ "$name" = "JWT_SECRET" ] || [ "$name" = "QUOTE_LINK_SECRET" ]; then
    aws ssm put-parameter --name "$param" --type SecureString \
      --value "$("$PY" -c 'import secrets; print(secrets.token_urlsafe(48))')" >/dev/null
    echo "  created  $param (random)"
  elif [ "$kind" = "required" ]; then
    aws ssm put-parameter --name "$param" --type SecureString --value "$PLACEHOLDER" >/dev/null
    missing+=("$param (required; placeholder created)")
  else
    echo "  absent   $param (optional: the offline stand-in is used)"
  fi
  unset value
done
if [ "${#missing[@]}" -gt 0 ]; then
  printf '  fill     %s\n' "${missing[@]}"
  echo "Set each with: aws ssm put-parameter --overwrite --type SecureString --name <name> --value '<value>'"
  echo "(an optional parameter you do not want: aws ssm delete-parameter --name <name>), then rerun."
  die "SSM parameters still hold the placeholder"
fi

deploy_infra() {  # $1: FunctionsDeployed true|false
  mapfile -t params < <("$PY" deploy/stack.py params "$STAGE" "$1")
  aws cloudformation deploy --stack-name "$INFRA" --template-file deploy/infra.yaml \
    --parameter-overrides "${params[@]}" --no-fail-on-empty-changeset \
    --tags app=ai-backend "stage=$STAGE"
}

FUNCTIONS_EXIST=false
aws lambda get-function --function-name "$WORKER" >/dev/null 2>&1 && FUNCTIONS_EXIST=true
step "Infrastructure stack $INFRA (bucket $BUCKET, table, queue, log groups)"
deploy_infra "$FUNCTIONS_EXIST"

step "Deployment package (slimmed; Lambda limits 50 MB zipped / 250 MB unzipped)"
"$PY" deploy/package_size.py --stage "$STAGE" --slim

step "chalice deploy --stage $STAGE"
# The app is imported with this stage's config only, not the shell's local settings.
env -u DATABASE_URL -u JWT_SECRET -u LOCAL_DATA_DIR -u STAGE "$CHALICE" deploy --stage "$STAGE"

step "Async invocation settings (retries, maximum event age, on-failure queue)"
deploy_infra true

MONITORING="$("$PY" deploy/stack.py name "$STAGE" monitoring_stack)"
step "Alarms and dashboard ($MONITORING)"
monitoring_params_text="$("$PY" deploy/stack.py monitoring "$STAGE")"
mapfile -t monitoring_params <<<"$monitoring_params_text"
aws cloudformation deploy --stack-name "$MONITORING" --template-file deploy/monitoring.json \
  --parameter-overrides "${monitoring_params[@]}" --no-fail-on-empty-changeset \
  --tags app=ai-backend "stage=$STAGE"

API_URL="$("$CHALICE" url --stage "$STAGE" 2>/dev/null || true)"
step "Deployed $STAGE"
echo "API: ${API_URL:-see .chalice/deployed/$STAGE.json}"
echo "Next: DATABASE_URL=\$(aws ssm get-parameter --name $PREFIX/DATABASE_URL --with-decryption --query Parameter.Value --output text) make migrate"
echo "Then: curl ${API_URL:-<api>}health   (docs/deploy.md: tokens, logs, teardown)"
