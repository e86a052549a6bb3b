"""deploy/infra.yaml, deploy.sh, destroy.sh and the Makefile targets agree with deploy/stack.py
and with the code (the tasks table's keys and indexes, the deployed function names)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.tasks.dynamo_store import TABLE_DEFINITION
from deploy import stack

ROOT = stack.ROOT


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, ...) as {"Fn": value} dicts."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _tag)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.load((ROOT / "deploy" / "infra.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def _of_type(template: dict, kind: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _sub(value: Any, stage: str) -> str:
    text = value["Sub"] if isinstance(value, dict) else value
    return text.replace("${App}", stack.APP).replace("${Stage}", stage)


def test_table_matches_the_store_the_code_queries(template) -> None:  # noqa: ANN001
    (table,) = _of_type(template, "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["TableName"] == {"Ref": "TableName"}
    for key in ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes", "BillingMode"):
        assert props[key] == TABLE_DEFINITION[key], key


def test_bucket_is_private_encrypted_and_configurable(template) -> None:  # noqa: ANN001
    (bucket,) = _of_type(template, "AWS::S3::Bucket").values()
    props = bucket["Properties"]
    assert props["BucketName"] == {"Ref": "BucketName"}
    assert all(props["PublicAccessBlockConfiguration"].values()) and len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert props["VersioningConfiguration"]["Status"] == {"If": ["Versioned", "Enabled", "Suspended"]}
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-thumbnails"]["ExpirationInDays"]["If"][1] == {"Ref": "ThumbnailExpiryDays"}
    (policy,) = _of_type(template, "AWS::S3::BucketPolicy").values()
    assert policy["Properties"]["PolicyDocument"]["Statement"][0]["Effect"] == "Deny"


@pytest.mark.parametrize("stage", stack.stages())
def test_a_log_group_with_retention_for_every_function(template, stage: str) -> None:  # noqa: ANN001
    groups = _of_type(template, "AWS::Logs::LogGroup").values()
    names = {_sub(g["Properties"]["LogGroupName"], stage).split()[0] for g in groups}
    assert names == {f"/aws/lambda/{stack.deployed_name(stage, f)}" for f in stack.FUNCTIONS}
    assert all(g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"} for g in groups)


@pytest.mark.parametrize("stage", stack.stages())
def test_async_functions_retry_age_out_and_land_in_the_queue(template, stage: str) -> None:  # noqa: ANN001
    configs = _of_type(template, "AWS::Lambda::EventInvokeConfig").values()
    named = {_sub(c["Properties"]["FunctionName"], stage) for c in configs}
    assert named == {stack.deployed_name(stage, f) for f, fn in stack.FUNCTIONS.items() if fn.async_source}
    assert {f"ai-backend-{stage}-task_worker", f"ai-backend-{stage}-collections_image_processor"} <= named
    for config in configs:
        props = config["Properties"]
        assert config["Condition"] == "Deployed"
        assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"GetAtt": "AsyncFailures.Arn"}
        assert props["MaximumEventAgeInSeconds"] == {"Ref": "AsyncMaxEventAgeSeconds"}
        assert props["MaximumRetryAttempts"] == {"Ref": "AsyncMaxRetryAttempts"}
    queue = template["Resources"]["AsyncFailures"]["Properties"]["QueueName"]
    assert queue == {"Ref": "FailuresQueueName"}
    assert stack.infra_parameters(stage, True)["FailuresQueueName"] == stack.names(stage)["failures_queue"]


@pytest.mark.parametrize("stage", stack.stages())
def test_parameters_the_script_passes_are_the_template_s(template, stage: str) -> None:  # noqa: ANN001
    declared = template["Parameters"]
    passed = stack.infra_parameters(stage, False)
    assert set(passed) == set(declared)
    for name, spec in declared.items():
        if "AllowedValues" in spec:
            assert passed[name] in spec["AllowedValues"], name
        if spec["Type"] == "Number":
            value = int(passed[name])
            assert spec.get("MinValue", value) <= value <= spec.get("MaxValue", value), name
    options = stack.stage_options(stage)
    assert passed["LogRetentionInDays"] == str(options["log_retention_in_days"])
    assert passed["BucketName"] == stack.stage_env(stage)["BUCKET_NAME"]
    assert passed["TableName"] == stack.function_env(stage, "api_handler")["DYNAMODB_TABLE_NAME"]


def test_prod_keeps_versions_and_expires_thumbnails_dev_does_not() -> None:
    assert stack.infra_parameters("prod", True)["BucketVersioning"] == "true"
    assert stack.infra_parameters("prod", True)["ThumbnailExpiryDays"] == "90"
    assert stack.infra_parameters("dev", True)["BucketVersioning"] == "false"


@pytest.mark.parametrize("script", ["deploy.sh", "destroy.sh"])
def test_scripts_are_strict_and_parse(script: str) -> None:
    path = ROOT / "deploy" / script
    text = path.read_text()
    assert "set -euo pipefail" in text
    assert "aws sts get-caller-identity" in text and "command -v aws" in text
    assert path.stat().st_mode & 0o111, f"{script} must be executable"
    subprocess.run(["bash", "-n", str(path)], check=True)
    for key in re.findall(r'stack\.py name "\$STAGE" (\w+)', text):
        assert key in stack.names("dev"), key


def test_destroy_needs_confirmation_for_prod() -> None:
    text = (ROOT / "deploy" / "destroy.sh").read_text()
    assert 'CONFIRM:-}" != "prod"' in text


def test_the_stack_helper_answers_the_scripts(capsys: pytest.CaptureFixture[str]) -> None:
    assert stack.main(["name", "dev", "infra_stack"]) == 0
    assert capsys.readouterr().out.strip() == "ai-backend-dev-infra"
    assert stack.main(["params", "prod", "true"]) == 0
    assert "FunctionsDeployed=true" in capsys.readouterr().out.splitlines()
    assert stack.main(["secrets"]) == 0
    assert "DATABASE_URL required" in capsys.readouterr().out
    assert stack.main(["bogus"]) == 2


def test_makefile_deploy_and_destroy_targets() -> None:
    make = subprocess.run(["make", "-n", "deploy", "destroy", "STAGE=prod", f"VENV={Path('/nonexistent')}"],
                          cwd=ROOT, capture_output=True, text=True)
    out = make.stdout
    assert "./deploy/deploy.sh prod" in out and "./deploy/destroy.sh prod" in out, make.stdout + make.stderr
