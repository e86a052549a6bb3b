"""One source of truth for each Lambda function's IAM policy, per stage.

``python deploy/policies.py`` writes ``.chalice/policy-<stage>-<function>.json`` (the files
``.chalice/config.json`` names with ``autogen_policy: false``); ``--check`` fails if they are out
of date (CI runs the check through tests/deploy). Resources are scoped to this app and stage;
the only wildcards are the ones AWS requires or the configuration leaves open (see EXCEPTIONS).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

APP = "ai-backend"
STAGES = ("dev", "prod")
ROOT = Path(__file__).resolve().parent.parent
CHALICE_DIR = ROOT / ".chalice"

#: What each function does with AWS: capability names, expanded by ``statements``.
NEEDS: dict[str, tuple[str, ...]] = {
    "api_handler": ("logs", "secrets", "blobs_rw", "events_put", "tasks_table", "invoke_worker"),
    "jwt_auth": ("logs", "secrets"),
    "task_worker": ("logs", "secrets", "tasks_table", "agentcore"),
    "task_sweeper": ("logs", "secrets", "tasks_table"),
    "pattern_detector": ("logs", "secrets", "bedrock_converse"),
    "page_generator": ("logs", "secrets"),
    "collections_image_processor": ("logs", "secrets", "blobs_rw", "events_put"),
    "collections_analyzer": ("logs", "secrets", "blobs_read", "events_put"),
    "collections_embedder": ("logs", "secrets"),
}

#: Resources that are ``*`` or open-ended on purpose, and why.
EXCEPTIONS = {
    "kms:Decrypt": "the SSM SecureStrings' key (aws/ssm or a customer key), limited by kms:ViaService to SSM",
    "bedrock-agentcore:InvokeAgentRuntime": "AGENT_RUNTIME_ARN is configuration; any runtime in this account",
    "bedrock:InvokeModel": "BEDROCK_MODEL_ID is configuration; foundation models only",
}


def names(stage: str) -> dict[str, str]:
    return {
        "bucket": f"{APP}-images-{stage}",
        "table": f"valro-tasks-{stage}",
        "ssm_prefix": f"/collections/{stage}",
        "worker": f"{APP}-{stage}-task_worker",
    }


def statements(capability: str, stage: str, function: str) -> list[dict]:
    n = names(stage)
    table = f"arn:aws:dynamodb:*:*:table/{n['table']}"
    return {
        "logs": [{"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                  "Resource": f"arn:aws:logs:*:*:log-group:/aws/lambda/{APP}-{stage}-{function}:*"}],
        "secrets": [
            {"Effect": "Allow", "Action": ["ssm:GetParameter"],
             "Resource": f"arn:aws:ssm:*:*:parameter{n['ssm_prefix']}/*"},
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "arn:aws:kms:*:*:key/*",
             "Condition": {"StringLike": {"kms:ViaService": "ssm.*.amazonaws.com"}}},
        ],
        "blobs_rw": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                      "Resource": f"arn:aws:s3:::{n['bucket']}/*"}],
        "blobs_read": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"arn:aws:s3:::{n['bucket']}/*"}],
        "events_put": [{"Effect": "Allow", "Action": ["events:PutEvents"],
                        "Resource": "arn:aws:events:*:*:event-bus/default"}],
        "tasks_table": [{"Effect": "Allow",
                         "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
                         "Resource": [table, f"{table}/index/*"]}],
        "invoke_worker": [{"Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                           "Resource": f"arn:aws:lambda:*:*:function:{n['worker']}"}],
        "agentcore": [{"Effect": "Allow", "Action": ["bedrock-agentcore:InvokeAgentRuntime"],
                       "Resource": "arn:aws:bedrock-agentcore:*:*:runtime/*"}],
        "bedrock_converse": [{"Effect": "Allow", "Action": ["bedrock:InvokeModel"],
                              "Resource": "arn:aws:bedrock:*::foundation-model/*"}],
    }[capability]


def policy(stage: str, function: str) -> dict:
    body = [s for capability in NEEDS[function] for s in statements(capability, stage, function)]
    return {"Version": "2012-10-17", "Statement": body}


def policy_path(stage: str, function: str) -> Path:
    return CHALICE_DIR / f"policy-{stage}-{function}.json"


def render(stage: str, function: str) -> str:
    return json.dumps(policy(stage, function), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a policy file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for stage in STAGES:
        for function in NEEDS:
            path, text = policy_path(stage, function), render(stage, function)
            if args.check:
                if not path.exists() or path.read_text() != text:
                    stale.append(path.name)
            else:
                path.write_text(text)
    if stale:
        print(f"out of date (run python deploy/policies.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
