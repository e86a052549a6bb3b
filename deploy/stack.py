"""The deployment's one source of truth: each Lambda function's size, triggers' guards,
environment, IAM needs, and the names of the resources around it, per stage.

Operator-editable values (region, log retention, bucket options, AgentCore ARN, MySQL for the
pages, VPC) live in ``deploy/stages.json``. ``deploy/policies.py`` renders this module into
``.chalice/config.json`` (stages dev and prod) and ``.chalice/policy-<stage>-<function>.json``;
``deploy/infra.yaml`` takes the same names as parameters from ``deploy/deploy.sh``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

APP = "ai-backend"
ROOT = Path(__file__).resolve().parent.parent
STAGES_FILE = ROOT / "deploy" / "stages.json"


def stage_options(stage: str) -> dict[str, Any]:
    """The operator's options for ``stage`` from deploy/stages.json."""
    stages = json.loads(STAGES_FILE.read_text())
    if stage not in stages:
        raise KeyError(f"unknown stage {stage!r}: add it to {STAGES_FILE.relative_to(ROOT)}")
    return stages[stage]


def stages() -> tuple[str, ...]:
    return tuple(json.loads(STAGES_FILE.read_text()))


@dataclass(frozen=True)
class Function:
    """One deployed Lambda function (its Chalice name is the key in FUNCTIONS)."""

    memory: int
    timeout: int
    needs: tuple[str, ...]
    env: tuple[str, ...] = ()
    reserved_concurrency: int | None = None
    async_source: bool = False  # invoked asynchronously: gets an on-failure destination + event age
    database: bool = False  # talks to PostgreSQL/MySQL: joins the VPC when the stage has one
    trigger: str = ""
    notes: str = field(default="", compare=False)


_TASKS_ENV = ("DYNAMODB_TABLE_NAME", "TASK_STORE", "TASK_WORKER_TIMEOUT_SECONDS")
_PAGES_DB_ENV = ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER")

#: Memory and timeouts from the seeds (000: generator 512/300; 001/004: processor 1024/60,
#: analyzer 1024/300, embedder 512/60; 002: API 512/30, worker 1024/600).
FUNCTIONS: dict[str, Function] = {
    "api_handler": Function(
        512, 30, ("logs", "secrets", "blobs_rw", "events_put", "tasks_table", "invoke_worker"),
        env=("EVENT_BUS_NAME", *_TASKS_ENV, "WORKER_LAMBDA_ARN", "CORS_ALLOW_ORIGINS", *_PAGES_DB_ENV),
        database=True, trigger="api"),
    "jwt_auth": Function(256, 10, ("logs", "secrets"), trigger="authorizer"),
    # The worker reads the vendor directory and writes quote requests (SQL: database=True) and
    # e-mails vendors with SES from the stage's sender.
    "task_worker": Function(
        1024, 600, ("logs", "secrets", "tasks_table", "agentcore", "ses_send", "async_failures"),
        env=(*_TASKS_ENV, "AGENT_RUNTIME_ARN", "QUOTE_EMAIL_SENDER", "PUBLIC_BASE_URL"), async_source=True,
        database=True, trigger="invoke",
        notes="agentcore only when deploy/stages.json names agent_runtime_arn; ses_send only with a quote_email_sender"),
    # Each schedule gets reserved concurrency 1 so a slow run never overlaps the next; the
    # handlers are safe to overlap anyway (conditional updates, SKIP LOCKED claims, leases).
    # The sweeper re-invokes the worker for a task whose async invocation was lost.
    "task_sweeper": Function(256, 60, ("logs", "secrets", "tasks_table", "invoke_worker"),
                             env=(*_TASKS_ENV, "WORKER_LAMBDA_ARN"), reserved_concurrency=1, trigger="rate(5 minutes)"),
    "pattern_detector": Function(512, 300, ("logs", "secrets", "bedrock_model"),
                                 env=("PATTERN_DETECTOR", "BEDROCK_MODEL_ID", *_PAGES_DB_ENV),
                                 reserved_concurrency=1, database=True, trigger="rate(5 minutes)"),
    "page_generator": Function(512, 300, ("logs", "secrets"), env=_PAGES_DB_ENV,
                               reserved_concurrency=1, database=True, trigger="rate(2 minutes)"),
    "collections_image_processor": Function(
        1024, 60, ("logs", "secrets", "blobs_read_write", "events_put", "async_failures"), env=("EVENT_BUS_NAME",),
        async_source=True, database=True, trigger="s3:ObjectCreated:*"),
    "collections_analyzer": Function(
        1024, 300, ("logs", "secrets", "blobs_read", "events_put", "async_failures"), env=("EVENT_BUS_NAME",),
        async_source=True, database=True, trigger="ImageProcessed"),
    "collections_embedder": Function(512, 60, ("logs", "secrets", "async_failures"), async_source=True,
                                     database=True, trigger="AnalysisComplete"),
    # Re-sends the step of a stuck item: the image processor's work run here (reads the original,
    # writes the thumbnail: the processor's size), or ImageProcessed / AnalysisComplete again.
    "item_sweeper": Function(1024, 300, ("logs", "secrets", "blobs_read_write", "events_put"),
                             env=("EVENT_BUS_NAME",), reserved_concurrency=1, database=True,
                             trigger="rate(5 minutes)"),
}

#: Every AWS operation the code makes, by module: {method called: IAM actions it needs}.
#: tests/deploy checks the code calls no other operation of these services.
AWS_CALLS: dict[str, dict[str, tuple[str, ...]]] = {
    "chalicelib/aws/blobs.py": {
        # Thumbnails are written with Tagging=kind=thumbnail (the lifecycle rule's filter).
        # Reads need s3:ListBucket too: without it S3 answers a missing key (an expired
        # thumbnail) with 403 AccessDenied instead of 404, and the rebuild never happens.
        "put_object": ("s3:PutObject", "s3:PutObjectTagging"), "get_object": ("s3:GetObject", "s3:ListBucket"),
        "delete_object": ("s3:DeleteObject",), "head_object": ("s3:GetObject", "s3:ListBucket"),
        # A presigned URL is used with the signer's permissions.
        "generate_presigned_url": ("s3:PutObject", "s3:GetObject"),
    },
    "chalicelib/aws/eventbridge.py": {"put_events": ("events:PutEvents",)},
    "chalicelib/tasks/dynamo_store.py": {
        "put_item": ("dynamodb:PutItem",), "get_item": ("dynamodb:GetItem",),
        "update_item": ("dynamodb:UpdateItem",), "query": ("dynamodb:Query",),
    },
    "chalicelib/invoke/adapter.py": {"invoke": ("lambda:InvokeFunction",)},
    "chalicelib/providers/agentcore.py": {"invoke_agent_runtime": ("bedrock-agentcore:InvokeAgentRuntime",)},
    "chalicelib/aws/mail.py": {"send_email": ("ses:SendEmail",)},
    "chalicelib/pages/detector.py": {"converse": ("bedrock:InvokeModel",)},
    "chalicelib/secrets.py": {"get_parameter": ("ssm:GetParameter", "kms:Decrypt")},
}

#: Calls that share a name with an AWS operation but are not AWS calls: (module, method) -> what.
LOOKALIKES: dict[tuple[str, str], str] = {
    ("chalicelib/tasks/service.py", "invoke_async"): "the Invoker port; in AWS it ends in adapter.py's invoke",
    ("chalicelib/tracing.py", "invoke_async"): "the Invoker port wrapped to add trace_id; ends in adapter.py",
    ("chalicelib/tracing.py", "invoke"): "the Invoker port wrapped to add trace_id; ends in adapter.py",
    ("chalicelib/db/migrations/versions/0002_tasks.py", "create_table"): "Alembic's op.create_table",
    ("chalicelib/db/migrations/versions/0003_pages.py", "create_table"): "Alembic's op.create_table",
    ("chalicelib/db/migrations/versions/0005_activity_requests.py", "create_table"): "Alembic's op.create_table",
    ("chalicelib/db/migrations/versions/0006_page_miss_counts.py", "create_table"): "Alembic's op.create_table",
    ("chalicelib/db/migrations/versions/0006_vendors.py", "create_table"): "Alembic's op.create_table",
}

#: Which functions run code in each module (a module's calls must be allowed for each).
MODULE_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "chalicelib/aws/blobs.py": ("api_handler", "collections_image_processor", "collections_analyzer", "item_sweeper"),
    "chalicelib/aws/eventbridge.py": ("api_handler", "collections_image_processor", "collections_analyzer", "item_sweeper"),
    "chalicelib/tasks/dynamo_store.py": ("api_handler", "task_worker", "task_sweeper"),
    "chalicelib/invoke/adapter.py": ("api_handler", "task_sweeper"),
    "chalicelib/providers/agentcore.py": ("task_worker",),
    "chalicelib/aws/mail.py": ("task_worker",),
    "chalicelib/pages/detector.py": ("pattern_detector",),
    "chalicelib/secrets.py": tuple(FUNCTIONS),
}

#: Calls that name an operation but that a function never makes (module, function, method).
NOT_CALLED_BY: set[tuple[str, str, str]] = {
    # The analyzer only reads originals/thumbnails; it never writes, deletes or presigns.
    ("chalicelib/aws/blobs.py", "collections_analyzer", "put_object"),
    ("chalicelib/aws/blobs.py", "collections_analyzer", "delete_object"),
    ("chalicelib/aws/blobs.py", "collections_analyzer", "generate_presigned_url"),
    # The image processor writes thumbnails; it never deletes or presigns.
    ("chalicelib/aws/blobs.py", "collections_image_processor", "delete_object"),
    ("chalicelib/aws/blobs.py", "collections_image_processor", "generate_presigned_url"),
    # The item sweeper checks originals, reruns the processor's work and publishes; it never
    # deletes or presigns.
    ("chalicelib/aws/blobs.py", "item_sweeper", "delete_object"),
    ("chalicelib/aws/blobs.py", "item_sweeper", "generate_presigned_url"),
}

#: Resources that stay open-ended on purpose, and why (the test accepts nothing else).
EXCEPTIONS: dict[str, str] = {
    "kms:Decrypt": "the SecureStrings' key (aws/ssm or a customer key, its id unknown before deploy); "
                   "only through SSM in this region (kms:ViaService)",
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions; every function sends its trace segments",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions; the tracing daemon's telemetry",
    "ec2:CreateNetworkInterface": "VPC functions only; Lambda's ENI actions do not support resource scoping",
    "ec2:DescribeNetworkInterfaces": "VPC functions only; Describe* cannot be scoped",
    "ec2:DeleteNetworkInterface": "VPC functions only; Lambda's ENI actions do not support resource scoping",
    "ec2:AssignPrivateIpAddresses": "VPC functions only; Lambda's ENI actions do not support resource scoping",
    "ec2:UnassignPrivateIpAddresses": "VPC functions only; Lambda's ENI actions do not support resource scoping",
}


def names(stage: str) -> dict[str, str]:
    """Resource names of ``stage`` (the infra stack creates them; the app reads them from env)."""
    return {
        "bucket": f"{APP}-images-{stage}",
        "table": f"valro-tasks-{stage}",
        "ssm_prefix": f"/collections/{stage}",
        "worker": f"{APP}-{stage}-task_worker",
        "failures_queue": f"{APP}-{stage}-async-failures",
        "infra_stack": f"{APP}-{stage}-infra",
        "monitoring_stack": f"{APP}-{stage}-monitoring",
    }


def deployed_name(stage: str, function: str) -> str:
    """The Lambda function name ``chalice deploy`` gives a handler (the API's is the app's)."""
    return f"{APP}-{stage}" if function == "api_handler" else f"{APP}-{stage}-{function}"


#: SSM SecureStrings under the stage's prefix: name -> required?
SECRETS: dict[str, bool] = {
    "DATABASE_URL": True, "JWT_SECRET": True, "QUOTE_LINK_SECRET": True,
    "ANTHROPIC_API_KEY": False, "VOYAGE_API_KEY": False, "DB_PASSWORD": False,
}


def stage_env(stage: str) -> dict[str, str]:
    """Variables every function gets. BUCKET_NAME is here because app.py reads it at import
    time (the S3 trigger's bucket), in every function."""
    n = names(stage)
    env = {"STAGE": stage, "SSM_PREFIX": n["ssm_prefix"], "BUCKET_NAME": n["bucket"],
           "METRICS_NAMESPACE": f"{APP}/{stage}"}
    providers = stage_options(stage).get("providers", "real")
    if providers != "real":  # real is the app's default outside the local stage
        env["PROVIDERS"] = providers
    return env


def function_env(stage: str, function: str) -> dict[str, str]:
    """The function-specific variables (empty optional values are left out)."""
    n, opts = names(stage), stage_options(stage)
    mysql = opts.get("pages_mysql") or {}
    values = {
        "EVENT_BUS_NAME": "default",
        "DYNAMODB_TABLE_NAME": n["table"],
        "TASK_STORE": "dynamodb",
        # The task deadline is derived from the worker's timeout (chalicelib.settings).
        "TASK_WORKER_TIMEOUT_SECONDS": str(FUNCTIONS["task_worker"].timeout),
        "WORKER_LAMBDA_ARN": n["worker"],
        "CORS_ALLOW_ORIGINS": opts.get("cors_allow_origins", ""),
        "AGENT_RUNTIME_ARN": opts.get("agent_runtime_arn", ""),
        "QUOTE_EMAIL_SENDER": opts.get("quote_email_sender", ""),
        "PUBLIC_BASE_URL": opts.get("public_base_url", ""),
        "PATTERN_DETECTOR": opts.get("pattern_detector", "statistical"),
        "BEDROCK_MODEL_ID": opts.get("bedrock_model_id", ""),
        "DB_HOST": mysql.get("host", ""),
        "DB_PORT": str(mysql.get("port", "")) if mysql else "",
        "DB_NAME": mysql.get("name", ""),
        "DB_USER": mysql.get("user", ""),
    }
    return {key: values[key] for key in FUNCTIONS[function].env if values[key]}


def _arn(service: str, stage: str, resource: str, account: str = "*") -> str:
    return f"arn:aws:{service}:{stage_options(stage)['region']}:{account}:{resource}"


def statements(capability: str, stage: str, function: str) -> list[dict[str, Any]]:
    """The IAM statements of one capability for one function of ``stage``."""
    n, opts = names(stage), stage_options(stage)
    region = opts["region"]
    table = _arn("dynamodb", stage, f"table/{n['table']}")
    agent = opts.get("agent_runtime_arn", "")
    model = opts.get("bedrock_model_id", "")
    allow = "Allow"
    # On the bucket itself: makes S3 answer 404 (not 403) for a missing key, so an expired
    # thumbnail reads as missing (BlobNotFound / exists() False) and is rebuilt.
    list_bucket = {"Effect": allow, "Action": ["s3:ListBucket"], "Resource": f"arn:aws:s3:::{n['bucket']}"}
    return {
        # The log group itself (with its retention) is created by deploy/infra.yaml.
        "logs": [{"Effect": allow, "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                  "Resource": _arn("logs", stage, f"log-group:/aws/lambda/{deployed_name(stage, function)}:*")}],
        "secrets": [
            {"Effect": allow, "Action": ["ssm:GetParameter"],
             "Resource": _arn("ssm", stage, f"parameter{n['ssm_prefix']}/*")},
            {"Effect": allow, "Action": ["kms:Decrypt"], "Resource": _arn("kms", stage, "key/*"),
             "Condition": {"StringEquals": {"kms:ViaService": f"ssm.{region}.amazonaws.com"}}},
        ],
        "blobs_rw": [{"Effect": allow,
                      "Action": ["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject"],
                      "Resource": f"arn:aws:s3:::{n['bucket']}/*"}, list_bucket],
        "blobs_read_write": [{"Effect": allow, "Action": ["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging"],
                              "Resource": f"arn:aws:s3:::{n['bucket']}/*"}, list_bucket],
        "blobs_read": [{"Effect": allow, "Action": ["s3:GetObject"], "Resource": f"arn:aws:s3:::{n['bucket']}/*"},
                       list_bucket],
        "events_put": [{"Effect": allow, "Action": ["events:PutEvents"],
                        "Resource": _arn("events", stage, "event-bus/default")}],
        "tasks_table": [{"Effect": allow,
                         "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
                         "Resource": [table, f"{table}/index/*"]}],
        "invoke_worker": [{"Effect": allow, "Action": ["lambda:InvokeFunction"],
                           "Resource": _arn("lambda", stage, f"function:{n['worker']}")}],
        "agentcore": [{"Effect": allow, "Action": ["bedrock-agentcore:InvokeAgentRuntime"],
                       "Resource": [agent, f"{agent}/runtime-endpoint/*"]}],
        # SendEmail only from the stage's sender, on its SES identity (the address itself, or
        # the verified domain named by ses_identity).
        "ses_send": [{"Effect": allow, "Action": ["ses:SendEmail"],
                      "Resource": _arn("ses", stage, f"identity/{ses_identity(stage)}"),
                      "Condition": {"StringEquals": {"ses:FromAddress": opts.get("quote_email_sender", "")}}}],
        "bedrock_model": [{"Effect": allow, "Action": ["bedrock:InvokeModel"],
                           "Resource": f"arn:aws:bedrock:{region}::foundation-model/{model}"}],
        # Lambda sends a failed async event to the on-failure destination with the function's role.
        "async_failures": [{"Effect": allow, "Action": ["sqs:SendMessage"],
                            "Resource": _arn("sqs", stage, n["failures_queue"])}],
        # X-Ray active tracing (xray: true); X-Ray's actions have no resource-level scoping.
        "xray": [{"Effect": allow, "Resource": "*", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]}],
        "vpc": [{"Effect": allow, "Resource": "*", "Action": [
            "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]}],
    }[capability]


def ses_identity(stage: str) -> str:
    """The SES identity the quote e-mails are sent from: ``ses_identity`` (a verified domain),
    else the sender address itself."""
    opts = stage_options(stage)
    return opts.get("ses_identity") or opts.get("quote_email_sender", "")


def in_vpc(stage: str, function: str) -> bool:
    vpc = stage_options(stage).get("vpc") or {}
    return bool(FUNCTIONS[function].database and vpc.get("subnet_ids"))


#: Capabilities a stage's options switch on or off (code paths the settings choose).
OPTIONAL: dict[str, Callable[[dict[str, Any]], bool]] = {
    "agentcore": lambda opts: bool(opts.get("agent_runtime_arn")),  # else the worker uses Claude/offline
    "bedrock_model": lambda opts: opts.get("pattern_detector") == "bedrock",  # else statistical
    "ses_send": lambda opts: bool(opts.get("quote_email_sender")),  # else the worker cannot e-mail (fails tasks)
}

#: The module whose AWS calls a capability pays for (used when the capability is switched off).
CAPABILITY_MODULE = {"agentcore": "chalicelib/providers/agentcore.py", "bedrock_model": "chalicelib/pages/detector.py",
                     "ses_send": "chalicelib/aws/mail.py"}


def needs(stage: str, function: str) -> tuple[str, ...]:
    """The capabilities ``function`` gets in ``stage``: its own, minus the switched-off ones."""
    opts = stage_options(stage)
    own = tuple(c for c in FUNCTIONS[function].needs if OPTIONAL.get(c, lambda _o: True)(opts))
    return own + ("xray",) + (("vpc",) if in_vpc(stage, function) else ())


def module_in_use(stage: str, module: str) -> bool:
    """False when the stage's options switch off the code path that makes ``module``'s calls."""
    opts = stage_options(stage)
    return all(OPTIONAL[c](opts) for c, m in CAPABILITY_MODULE.items() if m == module)


def policy(stage: str, function: str) -> dict[str, Any]:
    """The IAM policy document of one function in ``stage``."""
    body = [s for capability in needs(stage, function) for s in statements(capability, stage, function)]
    return {"Version": "2012-10-17", "Statement": body}


def policy_filename(stage: str, function: str) -> str:
    return f"policy-{stage}-{function}.json"


def chalice_stage(stage: str) -> dict[str, Any]:
    """The ``stages.<stage>`` block of .chalice/config.json."""
    opts = stage_options(stage)
    vpc = opts.get("vpc") or {}
    functions: dict[str, Any] = {}
    for name, fn in FUNCTIONS.items():
        block: dict[str, Any] = {
            "lambda_memory_size": fn.memory,
            "lambda_timeout": fn.timeout,
            "iam_policy_file": policy_filename(stage, name),
        }
        if fn.reserved_concurrency is not None:
            block["reserved_concurrency"] = fn.reserved_concurrency
        env = function_env(stage, name)
        if env:
            block["environment_variables"] = env
        if in_vpc(stage, name):
            block["subnet_ids"] = list(vpc["subnet_ids"])
            block["security_group_ids"] = list(vpc.get("security_group_ids", []))
        functions[name] = block
    return {
        "api_gateway_stage": "api",
        "autogen_policy": False,
        "xray": True,
        "environment_variables": stage_env(stage),
        "lambda_functions": functions,
    }


def infra_parameters(stage: str, functions_deployed: bool) -> dict[str, str]:
    """deploy/infra.yaml's parameters for ``stage``."""
    n, opts = names(stage), stage_options(stage)
    return {
        "App": APP, "Stage": stage, "BucketName": n["bucket"], "TableName": n["table"],
        "FailuresQueueName": n["failures_queue"],
        "LogRetentionInDays": str(opts["log_retention_in_days"]),
        "BucketVersioning": str(bool(opts.get("bucket_versioning"))).lower(),
        "ThumbnailExpiryDays": str(opts.get("thumbnail_expiry_days", 0)),
        "AsyncMaxEventAgeSeconds": str(opts.get("async_max_event_age_seconds", 3600)),
        "AsyncMaxRetryAttempts": str(opts.get("async_max_retry_attempts", 2)),
        "UploadOrigins": opts.get("cors_allow_origins") or "*",
        "FunctionsDeployed": str(functions_deployed).lower(),
    }


def main(argv: list[str] | None = None) -> int:
    """Shell helpers for deploy/deploy.sh and destroy.sh:

    stack.py name STAGE KEY          one name (bucket, table, ssm_prefix, worker, infra_stack, ...)
    stack.py region STAGE            the stage's region
    stack.py params STAGE true|false deploy/infra.yaml's parameters as Key=Value lines
    stack.py secrets                 NAME required|optional lines
    stack.py functions STAGE         the deployed function names
    stack.py monitoring STAGE        deploy/monitoring.json's parameters (ALARM_EMAIL from the env)
    """
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    command, rest = (args[0], args[1:]) if args else ("", [])
    if command == "name" and len(rest) == 2:
        print(names(rest[0])[rest[1]])
    elif command == "region" and len(rest) == 1:
        print(stage_options(rest[0])["region"])
    elif command == "params" and len(rest) == 2:
        for key, value in infra_parameters(rest[0], rest[1] == "true").items():
            print(f"{key}={value}")
    elif command == "secrets" and not rest:
        for name, required in SECRETS.items():
            print(name, "required" if required else "optional")
    elif command == "monitoring" and len(rest) == 1:
        import os

        sys.path.insert(0, str(ROOT))  # run as a script: make the deploy package importable
        from deploy import monitoring

        for key, value in monitoring.parameters(rest[0], os.environ.get("ALARM_EMAIL", "")).items():
            print(f"{key}={value}")
    elif command == "functions" and len(rest) == 1:
        for function in FUNCTIONS:
            print(deployed_name(rest[0], function))
    else:
        print(main.__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
