"""deploy/monitoring.json (alarms and dashboard), X-Ray and the metrics namespace in the generated
config, and the bucket's settings per stage."""

from __future__ import annotations

import fnmatch
import json
import re

import pytest

from deploy import monitoring, stack

ROOT = stack.ROOT


@pytest.fixture(scope="module")
def template() -> dict:
    return json.loads((ROOT / "deploy" / "monitoring.json").read_text())


def _alarms(template: dict) -> dict[str, dict]:
    return {k: v["Properties"] for k, v in template["Resources"].items() if v["Type"] == "AWS::CloudWatch::Alarm"}


def _sub(value: object, **params: str) -> str:
    text = value["Fn::Sub"] if isinstance(value, dict) else str(value)
    for name, replacement in params.items():
        text = text.replace("${" + name + "}", replacement)
    return text


def test_the_checked_in_template_is_the_rendering(template: dict) -> None:
    assert template == monitoring.template()


def test_every_function_has_error_rate_duration_and_throttle_alarms(template: dict) -> None:
    alarms = _alarms(template)
    for function, fn in stack.FUNCTIONS.items():
        name = stack.deployed_name("prod", function)
        mine = {k: a for k, a in alarms.items()
                if _sub(a["AlarmName"], App=stack.APP, Stage="prod").startswith(f"{stack.APP}-prod-{function}-")}
        kinds = {_sub(a["AlarmName"], App=stack.APP, Stage="prod").rsplit("-", 1)[-1]: a for a in mine.values()}
        assert set(kinds) == {"rate", "duration", "throttles"}, function

        rate = kinds["rate"]
        assert rate["Threshold"] == {"Ref": "ErrorRatePercent"}
        expression = next(m for m in rate["Metrics"] if m.get("ReturnData"))["Expression"]
        lambda_metrics = {m["Id"]: m["MetricStat"]["Metric"] for m in rate["Metrics"]
                          if "MetricStat" in m and m["MetricStat"]["Metric"]["Namespace"] == "AWS/Lambda"}
        assert {i: m["MetricName"] for i, m in lambda_metrics.items()} == {"errors": "Errors", "invocations": "Invocations"}
        for metric in lambda_metrics.values():
            assert _sub(metric["Dimensions"][0]["Value"], App=stack.APP, Stage="prod") == name
        if fn.trigger == "api":  # a route's 500 is a successful invocation: the app's EMF counts it
            (http,) = [m for m in rate["Metrics"] if m["Id"] == "http_errors"]
            assert _sub(http["MetricStat"]["Metric"]["Namespace"], App=stack.APP, Stage="prod") == \
                stack.stage_env("prod")["METRICS_NAMESPACE"]
            assert http["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "kind", "Value": "http"}]
            assert "100 * (errors + FILL(http_errors, 0)) / invocations" in expression
        else:
            assert "100 * errors / invocations" in expression and len(rate["Metrics"]) == 3

        duration = kinds["duration"]
        assert duration["MetricName"] == "Duration" and duration["Statistic"] == "Maximum"
        assert duration["Threshold"] == fn.timeout * 1000 * 0.8  # near the timeout from deploy/stack.py
        assert _sub(duration["Dimensions"][0]["Value"], App=stack.APP, Stage="prod") == name

        throttles = kinds["throttles"]
        assert throttles["MetricName"] == "Throttles" and throttles["Threshold"] == 0
        assert throttles["ComparisonOperator"] == "GreaterThanThreshold"


def test_queue_and_stuck_task_alarms_watch_what_the_app_emits(template: dict) -> None:
    alarms = _alarms(template)
    dlq = alarms["AsyncFailuresAlarm"]
    assert dlq["Namespace"] == "AWS/SQS" and dlq["Threshold"] == 0
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": {"Ref": "FailuresQueueName"}}]
    assert monitoring.parameters("dev")["FailuresQueueName"] == stack.names("dev")["failures_queue"]
    for name, metric, handler in (("TasksStuckAlarm", "TasksStuck", "task_sweeper"),
                                  ("ItemsStuckAlarm", "ItemsStuck", "item_sweeper")):
        stuck = alarms[name]
        assert stuck["MetricName"] == metric and stuck["Threshold"] == 0
        assert stuck["Dimensions"] == [{"Name": "handler", "Value": handler}]
        for stage in stack.stages():  # the namespace the alarm reads is the one the functions write to
            assert _sub(stuck["Namespace"], App=stack.APP, Stage=stage) == stack.stage_env(stage)["METRICS_NAMESPACE"]
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert alarm["TreatMissingData"] == "notBreaching"


def test_dashboard_charts_every_function_and_the_app_metrics(template: dict) -> None:
    body = _sub(template["Resources"]["Dashboard"]["Properties"]["DashboardBody"],
                App=stack.APP, Stage="dev", FailuresQueueName="q", **{"AWS::Region": "us-east-1"})
    assert "${" not in body
    widgets = json.loads(body)["widgets"]
    charted = {m[3] for w in widgets for m in w["properties"]["metrics"] if m[2] == "FunctionName"}
    assert charted == {stack.deployed_name("dev", f) for f in stack.FUNCTIONS}
    custom = {m[1] for w in widgets for m in w["properties"]["metrics"] if m[0] == "ai-backend/dev"}
    assert custom == {"JobsProcessed", "PagesGenerated", "GenerationErrors", "StageSeconds", "Tasks", "TasksStuck",
                      "TasksReinvoked", "ItemsResent", "ItemsStuck", "Errors", "AnalysisRepaired",
                      "AnalysisReasked", "AnalysisUnusable", "AnswerFailures", "AnswerLatency"}
    source = "\n".join(p.read_text() for p in (ROOT / "chalicelib").rglob("*.py"))
    for metric in custom:  # each is a metric the code really emits
        assert re.search(rf'"{metric}"\]? ?[:=] \(', source), metric


def test_generated_config_turns_on_xray_and_a_namespace_per_stage() -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    for stage in stack.stages():
        block = config["stages"][stage]
        assert block["xray"] is True
        assert block["environment_variables"]["METRICS_NAMESPACE"] == f"ai-backend/{stage}"


@pytest.mark.parametrize(("stage", "days", "versioning"), [("dev", "0", "false"), ("test", "90", "false"),
                                                            ("prod", "90", "true")])
def test_bucket_settings_per_stage(stage: str, days: str, versioning: str) -> None:
    params = stack.infra_parameters(stage, True)
    assert params["ThumbnailExpiryDays"] == days and params["BucketVersioning"] == versioning


def test_processor_and_api_may_tag_what_they_write() -> None:
    for function in ("collections_image_processor", "api_handler"):
        actions = {a for s in stack.policy("prod", function)["Statement"] for a in s["Action"]}
        assert {"s3:PutObject", "s3:PutObjectTagging"} <= actions, function
    analyzer = {a for s in stack.policy("prod", "collections_analyzer")["Statement"] for a in s["Action"]}
    assert "s3:PutObjectTagging" not in analyzer and "s3:PutObject" not in analyzer


def test_the_alarm_topic_is_one_cloudwatch_can_publish_to(template: dict) -> None:
    """CloudWatch cannot use the AWS managed alias/aws/sns key, so the topic has its own key
    whose policy (and the topic's) lets cloudwatch.amazonaws.com in for exactly our alarms."""
    resources = template["Resources"]
    topic = resources["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlarmTopicKey", "Arn"]}
    key_statements = resources["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    (key_grant,) = [s for s in key_statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert set(key_grant["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    (publish,) = resources["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and publish["Action"] == "sns:Publish"
    assert resources["AlarmTopicPolicy"]["Properties"]["Topics"] == [{"Ref": "AlarmTopic"}]
    params = {"App": stack.APP, "Stage": "prod", "AWS::Partition": "aws", "AWS::Region": "us-east-1",
              "AWS::AccountId": "123456789012"}
    for grant in (key_grant, publish):
        pattern = _sub(grant["Condition"]["ArnLike"]["aws:SourceArn"], **params)
        for alarm in _alarms(template).values():  # a name outside the pattern would never notify
            arn = f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{_sub(alarm['AlarmName'], **params)}"
            assert fnmatch.fnmatchcase(arn, pattern), (arn, pattern)
        assert not fnmatch.fnmatchcase("arn:aws:cloudwatch:us-east-1:123456789012:alarm:ai-backend-dev-x", pattern)


@pytest.mark.parametrize("name", ["infra.yaml", "monitoring.json"])
def test_templates_pass_cfn_lint(name: str) -> None:
    """cfn-lint checks every property against CloudFormation's resource schemas (names, types,
    enums such as alarm units, references, conditions)."""
    from cfnlint.api import lint_file

    matches = lint_file(ROOT / "deploy" / name)
    assert not matches, "\n".join(str(m) for m in matches)


def test_every_reader_of_the_bucket_may_list_it() -> None:
    """Without s3:ListBucket S3 answers a missing key with 403, not 404: an expired thumbnail
    would be an AccessDenied error instead of a rebuild."""
    for stage in stack.stages():
        bucket = f"arn:aws:s3:::{stack.names(stage)['bucket']}"
        for function in stack.FUNCTIONS:
            statements = stack.policy(stage, function)["Statement"]
            reads = any("s3:GetObject" in s["Action"] for s in statements)
            lists = [s["Resource"] for s in statements if "s3:ListBucket" in s["Action"]]
            assert lists == ([bucket] if reads else []), (stage, function)


def test_dashboard_rows_are_the_values_the_code_emits(template: dict) -> None:
    """Tasks by every status the model has, StageSeconds for every stage the pipeline records."""
    from chalicelib.tasks.model import STATUSES

    body = _sub(template["Resources"]["Dashboard"]["Properties"]["DashboardBody"], App=stack.APP, Stage="dev")
    rows = [m for w in json.loads(body)["widgets"] for m in w["properties"]["metrics"]]
    assert {m[3] for m in rows if m[1] == "Tasks"} == set(STATUSES)
    source = (ROOT / "chalicelib" / "collections" / "handlers.py").read_text()
    assert {m[3] for m in rows if m[1] == "StageSeconds"} == set(re.findall(r'record_stage\("(\w+)"', source))
