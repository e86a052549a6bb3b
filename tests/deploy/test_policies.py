"""Least privilege: every AWS call the code makes is allowed by the policy of each function
that runs it, the code makes no call deploy/stack.py does not list, and nothing is ``*`` that
need not be. The policy files and config.json stages are generated and in sync."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import botocore.session
import pytest

from deploy import policies, slim, stack

ROOT = stack.ROOT
_CLIENT = re.compile(r"""(?:aws_client|aws_resource|boto3\.(?:session\.Session\(\)\.)?(?:client|resource))\(\s*["']([\w-]+)["']""")


def _modules() -> dict[str, str]:
    """Every chalicelib module: all can run in Lambda (the local emulator lives in localdev/)."""
    return {str(p.relative_to(ROOT)): p.read_text() for p in (ROOT / "chalicelib").rglob("*.py")}


def _services_used() -> set[str]:
    return {m for text in _modules().values() for m in _CLIENT.findall(text)}


def _operations(services: set[str]) -> set[str]:
    session = botocore.session.get_session()
    return {botocore.xform_name(op) for s in services for op in session.get_service_model(s).operation_names}


def _allowed(policy: dict) -> set[str]:
    return {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def _resources(statement: dict) -> list[str]:
    return statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]


@pytest.fixture
def options(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201 - a setter for one stage's options
    real = stack.stage_options
    overrides: dict[str, dict] = {}

    def patched(stage: str) -> dict:
        return {**copy.deepcopy(real(stage)), **overrides.get(stage, {})}

    monkeypatch.setattr(stack, "stage_options", patched)
    return lambda stage, **values: overrides.setdefault(stage, {}).update(values)


def test_generated_files_are_in_sync() -> None:
    assert policies.main(["--check"]) == 0, "run python deploy/policies.py"
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert config["stages"]["local"]["environment_variables"]["STAGE"] == "local"
    for stage in stack.stages():
        for name, block in config["stages"][stage]["lambda_functions"].items():
            assert (ROOT / ".chalice" / block["iam_policy_file"]).exists(), name
        assert config["stages"][stage]["autogen_policy"] is False


def test_the_code_calls_no_aws_operation_the_deploy_does_not_know() -> None:
    services = _services_used()
    assert services == {"s3", "events", "dynamodb", "lambda", "ssm", "bedrock-agentcore", "bedrock-runtime", "ses"}, (
        "a new AWS service: add its calls to deploy/stack.AWS_CALLS and its model to deploy/slim.BOTOCORE_SERVICES")
    assert services <= set(slim.BOTOCORE_SERVICES)
    operations = _operations(services) | {"generate_presigned_url"}
    for module, text in _modules().items():
        called = {op for op in operations if re.search(rf"\.{op}\(", text)} - {
            method for (m, method) in stack.LOOKALIKES if m == module}
        known = set(stack.AWS_CALLS.get(module, {}))
        assert called <= known, f"{module} calls {sorted(called - known)}: add them to deploy/stack.AWS_CALLS"
        assert known <= called, f"{module} no longer calls {sorted(known - called)}: drop them from AWS_CALLS"
    assert set(stack.MODULE_FUNCTIONS) == set(stack.AWS_CALLS)


@pytest.mark.parametrize("stage", stack.stages())
def test_every_call_is_allowed_for_every_function_that_makes_it(stage: str) -> None:
    for module, calls in stack.AWS_CALLS.items():
        for function in stack.MODULE_FUNCTIONS[module]:
            allowed = _allowed(stack.policy(stage, function))
            for method, actions in calls.items():
                if (module, function, method) in stack.NOT_CALLED_BY:
                    continue
                for action in actions:
                    if stack.module_in_use(stage, module):
                        assert action in allowed, f"{function} calls {method} ({module}) without {action}"
                    else:
                        assert action not in allowed, f"{function} has {action} for a switched-off {module}"


@pytest.mark.parametrize("stage", stack.stages())
def test_no_function_gets_an_action_no_code_of_it_needs(stage: str) -> None:
    for function in stack.FUNCTIONS:
        needed = {"logs:CreateLogStream", "logs:PutLogEvents"}
        for module, calls in stack.AWS_CALLS.items():
            if function in stack.MODULE_FUNCTIONS[module] and stack.module_in_use(stage, module):
                needed |= {a for m, acts in calls.items() if (module, function, m) not in stack.NOT_CALLED_BY
                           for a in acts}
        if stack.FUNCTIONS[function].async_source:
            needed.add("sqs:SendMessage")  # Lambda's on-failure destination uses the function's role
        if stack.chalice_stage(stage)["xray"]:
            needed |= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}  # active tracing sends segments
        assert _allowed(stack.policy(stage, function)) == needed, function


@pytest.mark.parametrize("stage", stack.stages())
def test_no_wildcard_that_need_not_be(stage: str) -> None:
    region = stack.stage_options(stage)["region"]
    for function in stack.FUNCTIONS:
        for statement in stack.policy(stage, function)["Statement"]:
            actions = statement["Action"]
            assert not any("*" in a for a in actions), (function, statement)
            for resource in _resources(statement):
                if resource == "*" or resource.endswith(":key/*"):
                    assert all(a in stack.EXCEPTIONS for a in actions), (function, statement)
                    continue
                parts = resource.split(":", 5)
                if parts[2] != "s3":
                    assert parts[3] == region, (function, resource)
                # Only the account is open ('*': unknown before deploy; names are per app and stage).
                # Within our resource: objects of our bucket, parameters under our prefix, indexes
                # of our table, log streams of the function's own group.
                name = parts[5]
                assert "*" not in name.removesuffix("/*").removesuffix(":*"), (function, resource)
                if name.endswith(("/*", ":*")):
                    assert stage in name or stack.names(stage)["table"] in name, (function, resource)


def test_kms_only_through_ssm_of_the_region() -> None:
    for stage in stack.stages():
        (kms,) = [s for s in stack.policy(stage, "jwt_auth")["Statement"] if s["Action"] == ["kms:Decrypt"]]
        region = stack.stage_options(stage)["region"]
        assert kms["Condition"] == {"StringEquals": {"kms:ViaService": f"ssm.{region}.amazonaws.com"}}


def test_agentcore_and_bedrock_only_when_the_stage_uses_them(options) -> None:  # noqa: ANN001
    assert "bedrock-agentcore:InvokeAgentRuntime" not in _allowed(stack.policy("dev", "task_worker"))
    assert "bedrock:InvokeModel" not in _allowed(stack.policy("dev", "pattern_detector"))
    arn = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/valro-agent-abc123"
    options("dev", agent_runtime_arn=arn, pattern_detector="bedrock")
    (agent,) = [s for s in stack.policy("dev", "task_worker")["Statement"]
                if s["Action"] == ["bedrock-agentcore:InvokeAgentRuntime"]]
    assert agent["Resource"] == [arn, f"{arn}/runtime-endpoint/*"]
    assert stack.function_env("dev", "task_worker")["AGENT_RUNTIME_ARN"] == arn
    (model,) = [s for s in stack.policy("dev", "pattern_detector")["Statement"] if s["Action"] == ["bedrock:InvokeModel"]]
    assert model["Resource"] == "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-1-8b-instruct-v1:0"
    assert stack.function_env("dev", "pattern_detector")["PATTERN_DETECTOR"] == "bedrock"
    assert "AGENT_RUNTIME_ARN" not in stack.function_env("prod", "task_worker")


def test_ses_only_from_the_stage_sender_identity(options) -> None:  # noqa: ANN001
    assert "ses:SendEmail" not in _allowed(stack.policy("dev", "task_worker"))
    options("dev", quote_email_sender="quotes@valro.example")
    (ses,) = [s for s in stack.policy("dev", "task_worker")["Statement"] if s["Action"] == ["ses:SendEmail"]]
    assert ses["Resource"] == "arn:aws:ses:us-east-1:*:identity/quotes@valro.example"
    assert ses["Condition"] == {"StringEquals": {"ses:FromAddress": "quotes@valro.example"}}
    options("dev", ses_identity="valro.example", public_base_url="https://api.valro.example/api")
    (ses,) = [s for s in stack.policy("dev", "task_worker")["Statement"] if s["Action"] == ["ses:SendEmail"]]
    assert ses["Resource"] == "arn:aws:ses:us-east-1:*:identity/valro.example"
    env = stack.function_env("dev", "task_worker")
    assert env["QUOTE_EMAIL_SENDER"] == "quotes@valro.example" and env["PUBLIC_BASE_URL"].endswith("/api")
    assert all("ses:SendEmail" not in _allowed(stack.policy("dev", f)) for f in stack.FUNCTIONS if f != "task_worker")


def test_vpc_only_for_the_functions_that_reach_a_database(options) -> None:  # noqa: ANN001
    assert all(not stack.in_vpc("prod", f) for f in stack.FUNCTIONS)
    options("prod", vpc={"subnet_ids": ["subnet-1", "subnet-2"], "security_group_ids": ["sg-1"]},
            pages_mysql={"host": "db.internal", "port": 3306, "name": "ambia", "user": "admin"})
    block = stack.chalice_stage("prod")["lambda_functions"]
    assert block["page_generator"]["subnet_ids"] == ["subnet-1", "subnet-2"]
    assert block["page_generator"]["security_group_ids"] == ["sg-1"]
    assert "ec2:CreateNetworkInterface" in _allowed(stack.policy("prod", "page_generator"))
    assert block["task_worker"]["subnet_ids"] == ["subnet-1", "subnet-2"]  # the vendor directory is in SQL
    for outside in ("jwt_auth", "task_sweeper"):
        assert "subnet_ids" not in block[outside]
        assert "ec2:CreateNetworkInterface" not in _allowed(stack.policy("prod", outside))
    assert block["pattern_detector"]["environment_variables"]["DB_HOST"] == "db.internal"
    assert block["pattern_detector"]["environment_variables"]["DB_PORT"] == "3306"
    assert "DB_HOST" not in block["task_worker"].get("environment_variables", {})


def test_secrets_are_parameters_never_values_in_the_config() -> None:
    text = (ROOT / ".chalice" / "config.json").read_text() + Path(stack.STAGES_FILE).read_text()
    for name in stack.SECRETS:
        assert f'"{name}"' not in text, f"{name} belongs in SSM, not in the config"
