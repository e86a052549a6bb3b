"""`chalice package` for each AWS stage: every handler with its trigger, memory and timeout as
the seeds give them, one least-privilege policy per function, and the stage's settings."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT))
from deploy import policies  # noqa: E402

EXPECTED = {  # function: (memory MB, timeout s) from seeds 000, 001, 002 and 004
    "api_handler": (512, 30), "task_worker": (1024, 600), "collections_image_processor": (1024, 60),
    "collections_analyzer": (1024, 300), "collections_embedder": (512, 60), "page_generator": (512, 300),
}
RATES = {"task_sweeper": "rate(5 minutes)", "pattern_detector": "rate(5 minutes)", "page_generator": "rate(2 minutes)"}
PATTERNS = {"collections_analyzer": ("collections.imageprocessor", "ImageProcessed"),
            "collections_embedder": ("collections.analyzer", "AnalysisComplete")}

#: The AWS operations our code calls, by module, and the functions that run that module.
CALLS = {
    "chalicelib/aws/blobs.py": ({"put_object": "s3:PutObject", "get_object": "s3:GetObject",
                                 "delete_object": "s3:DeleteObject", "head_object": "s3:GetObject"},
                                ("api_handler", "collections_image_processor")),
    "chalicelib/aws/events.py": ({"put_events": "events:PutEvents"},
                                 ("api_handler", "collections_image_processor", "collections_analyzer")),
    "chalicelib/tasks/dynamo_store.py": ({"put_item": "dynamodb:PutItem", "get_item": "dynamodb:GetItem",
                                          "update_item": "dynamodb:UpdateItem", "query": "dynamodb:Query"},
                                         ("api_handler", "task_worker", "task_sweeper")),
    "chalicelib/invoke/adapter.py": ({"invoke": "lambda:InvokeFunction"}, ("api_handler",)),
    "chalicelib/providers/agentcore.py": ({"invoke_agent_runtime": "bedrock-agentcore:InvokeAgentRuntime"},
                                          ("task_worker",)),
    "chalicelib/pages/detector.py": ({"converse": "bedrock:InvokeModel"}, ("pattern_detector",)),
    "chalicelib/secrets.py": ({"get_parameter": "ssm:GetParameter"}, tuple(policies.NEEDS)),
}


@pytest.fixture(scope="session", params=["dev", "prod"])
def package(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    stage = request.param
    out = tmp_path_factory.mktemp(f"package-{stage}")
    chalice = Path(sys.executable).with_name("chalice")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    for name in ("STAGE", "DATABASE_URL", "LOCAL_DATA_DIR", "JWT_SECRET"):
        env.pop(name, None)
    result = subprocess.run([str(chalice), "package", "--pkg-format", "terraform", "--stage", stage, str(out)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return stage, json.loads((out / "chalice.tf.json").read_text())["resource"]


def test_every_function_with_memory_and_timeout(package) -> None:  # noqa: ANN001
    stage, resources = package
    functions = resources["aws_lambda_function"]
    assert set(functions) == set(policies.NEEDS)
    for name, (memory, timeout) in EXPECTED.items():
        assert (functions[name]["memory_size"], functions[name]["timeout"]) == (memory, timeout), name
    for name in ("page_generator", "pattern_detector", "task_sweeper"):
        assert functions[name]["reserved_concurrent_executions"] == 1, f"{name} must not overlap itself"
    env = functions["api_handler"]["environment"]["variables"]
    assert env["STAGE"] == stage and env["BUCKET_NAME"] == f"ai-backend-images-{stage}"
    assert env["DYNAMODB_TABLE_NAME"] == f"valro-tasks-{stage}" and env["TASK_STORE"] == "dynamodb"
    assert env["WORKER_LAMBDA_ARN"] == f"ai-backend-{stage}-task_worker"
    assert env["SSM_PREFIX"] == f"/collections/{stage}"


def test_triggers(package) -> None:  # noqa: ANN001
    stage, resources = package
    rules = resources["aws_cloudwatch_event_rule"]
    for name, rate in RATES.items():
        assert rules[f"{name}-event"]["schedule_expression"] == rate
    for name, (source, detail_type) in PATTERNS.items():
        assert json.loads(rules[f"{name}-event"]["event_pattern"]) == {"source": [source], "detail-type": [detail_type]}
    (notify,) = resources["aws_s3_bucket_notification"].values()
    assert notify["bucket"] == f"ai-backend-images-{stage}"
    (target,) = notify["lambda_function"]
    assert target["events"] == ["s3:ObjectCreated:*"] and "collections_image_processor" in target["lambda_function_arn"]
    assert "aws_api_gateway_rest_api" in resources


def test_each_function_has_its_own_generated_policy(package) -> None:  # noqa: ANN001
    stage, resources = package
    attached = {name.removesuffix("_role"): json.loads(p["policy"]) for name, p in resources["aws_iam_role_policy"].items()}
    assert set(attached) == set(policies.NEEDS)
    for function, policy in attached.items():
        assert policy == policies.policy(stage, function), function


def test_policy_files_are_in_sync() -> None:
    assert policies.main(["--check"]) == 0


def _actions(policy: dict) -> set[str]:
    return {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def test_every_aws_call_the_code_makes_is_allowed() -> None:
    for module, (operations, functions) in CALLS.items():
        source = (ROOT / module).read_text()
        called = {op for op in operations if re.search(rf"\.{op}\(", source)}
        assert called, f"{module}: none of {sorted(operations)} found; update CALLS"
        for function in functions:
            allowed = _actions(policies.policy("dev", function))
            for op in called:
                assert operations[op] in allowed, f"{function} calls {op} ({module}) without {operations[op]}"
    scanned = set()
    for path in (ROOT / "chalicelib").rglob("*.py"):
        text = path.read_text()
        if re.search(r"aws_client\(|aws_resource\(|boto3\.(client|resource)\(", text):
            scanned.add(str(path.relative_to(ROOT)))
    known = set(CALLS) | {"chalicelib/wiring.py", "chalicelib/pages/entry.py"}
    assert scanned <= known, f"AWS clients used in modules CALLS does not cover: {scanned - known}"


def test_no_wildcard_resource_that_need_not_be() -> None:
    for stage in policies.STAGES:
        for function in policies.NEEDS:
            for statement in policies.policy(stage, function)["Statement"]:
                resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert "*" not in resources, (function, statement)
                if any(r.endswith(("/*", ":*")) and "key/*" in r or "runtime/*" in r or "foundation-model/*" in r
                       for r in resources):
                    assert all(a in policies.EXCEPTIONS for a in actions), (function, statement)
                assert not any(a.endswith(":*") for a in actions), (function, statement)
