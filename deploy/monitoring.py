"""Alarms and a dashboard for one stage, rendered from deploy/stack.py into
``deploy/monitoring.json`` (a CloudFormation template; ``deploy/policies.py`` writes it and
``--check`` keeps it in sync). ``deploy/deploy.sh`` deploys it as ``<app>-<stage>-monitoring``
once the functions exist.

Per function (AWS/Lambda metrics): error rate over ``ErrorRatePercent``, maximum duration over
``DurationAlarmFraction`` of that function's timeout, throttles above zero. For the stage: a
message in the async-failures queue (events Lambda gave up on), tasks stuck (the sweeper's
``TasksStuck`` EMF metric), items stuck (the item sweeper's ``ItemsStuck``), page generation errors,
a required AI provider missing or unreadable (``ProviderMissing``, emitted by every call that could
not build it), pattern-detector errors (``DetectorErrors``). Every alarm notifies one SNS topic,
with an optional e-mail subscription.
"""

from __future__ import annotations

import json
from typing import Any

from deploy import stack

#: An alarm fires when the maximum duration in a period passes this fraction of the timeout.
DURATION_ALARM_FRACTION = 0.8
PERIOD = 300


def namespace(stage: str) -> str:
    """The stage's EMF namespace (METRICS_NAMESPACE in every function's environment)."""
    return f"{stack.APP}/{stage}"


def _logical(function: str) -> str:
    return "".join(part.capitalize() for part in function.split("_"))


def _function_name(function: str) -> dict[str, str]:
    return {"Fn::Sub": "${App}-${Stage}" if function == "api_handler" else f"${{App}}-${{Stage}}-{function}"}


def _lambda_metric(function: str, name: str, stat: str, label: str) -> dict[str, Any]:
    return {"Id": label, "ReturnData": False, "MetricStat": {
        "Metric": {"Namespace": "AWS/Lambda", "MetricName": name,
                   "Dimensions": [{"Name": "FunctionName", "Value": _function_name(function)}]},
        "Period": PERIOD, "Stat": stat}}


def _alarm(description: str, **props: Any) -> dict[str, Any]:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmDescription": description, "ActionsEnabled": True,
        "AlarmActions": [{"Ref": "AlarmTopic"}], "OKActions": [{"Ref": "AlarmTopic"}],
        "EvaluationPeriods": 1, "DatapointsToAlarm": 1, "TreatMissingData": "notBreaching", **props}}


def function_alarms(function: str, fn: stack.Function) -> dict[str, dict[str, Any]]:
    """The three alarms of one function."""
    logical = _logical(function)
    name = _function_name(function)
    duration_ms = int(fn.timeout * 1000 * DURATION_ALARM_FRACTION)
    metrics = [_lambda_metric(function, "Errors", "Sum", "errors"),
               _lambda_metric(function, "Invocations", "Sum", "invocations")]
    failed, what = "errors", "invocations failed"
    if fn.trigger == "api":
        # Chalice answers a route's exception with a 500 and the invocation succeeds, so Lambda's
        # Errors only counts crashes and timeouts; the app's EMF Errors (kind=http) counts 5xx.
        metrics.append({"Id": "http_errors", "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": {"Fn::Sub": "${App}/${Stage}"}, "MetricName": "Errors",
                       "Dimensions": [{"Name": "kind", "Value": "http"}]},
            "Period": PERIOD, "Stat": "Sum"}})
        failed, what = "(errors + FILL(http_errors, 0))", "requests failed (5xx or a crashed invocation)"
    metrics.append({"Id": "rate", "Label": "error rate %", "ReturnData": True,
                    "Expression": f"IF(invocations > 0, 100 * {failed} / invocations, 0)"})
    return {
        f"{logical}ErrorRateAlarm": _alarm(
            f"{function}: more than ErrorRatePercent % of {what} in 5 minutes",
            AlarmName={"Fn::Sub": f"${{App}}-${{Stage}}-{function}-error-rate"},
            ComparisonOperator="GreaterThanThreshold", Threshold={"Ref": "ErrorRatePercent"},
            Metrics=metrics),
        f"{logical}DurationAlarm": _alarm(
            f"{function}: an invocation took over {int(DURATION_ALARM_FRACTION * 100)}% of its {fn.timeout} s timeout",
            AlarmName={"Fn::Sub": f"${{App}}-${{Stage}}-{function}-duration"},
            Namespace="AWS/Lambda", MetricName="Duration", Statistic="Maximum", Period=PERIOD,
            Dimensions=[{"Name": "FunctionName", "Value": name}],
            ComparisonOperator="GreaterThanThreshold", Threshold=duration_ms, Unit="Milliseconds"),
        f"{logical}ThrottlesAlarm": _alarm(
            f"{function}: invocations were throttled",
            AlarmName={"Fn::Sub": f"${{App}}-${{Stage}}-{function}-throttles"},
            Namespace="AWS/Lambda", MetricName="Throttles", Statistic="Sum", Period=PERIOD,
            Dimensions=[{"Name": "FunctionName", "Value": name}],
            ComparisonOperator="GreaterThanThreshold", Threshold=0),
    }


def stage_alarms() -> dict[str, dict[str, Any]]:
    ns = {"Fn::Sub": "${App}/${Stage}"}
    return {
        "AsyncFailuresAlarm": _alarm(
            "An async event (S3, EventBridge, task hand-off) failed every retry and is in the failures queue",
            AlarmName={"Fn::Sub": "${App}-${Stage}-async-failures"},
            Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible", Statistic="Maximum",
            Period=PERIOD, Dimensions=[{"Name": "QueueName", "Value": {"Ref": "FailuresQueueName"}}],
            ComparisonOperator="GreaterThanThreshold", Threshold=0),
        "TasksStuckAlarm": _alarm(
            "The task sweeper marked tasks as error: past TASK_DEADLINE_SECONDS, or no worker ran them after TASK_REINVOKE_MAX re-invocations",
            AlarmName={"Fn::Sub": "${App}-${Stage}-tasks-stuck"},
            Namespace=ns, MetricName="TasksStuck", Statistic="Sum", Period=PERIOD,
            Dimensions=[{"Name": "handler", "Value": "task_sweeper"}],
            ComparisonOperator="GreaterThanThreshold", Threshold=0),
        "ItemsStuckAlarm": _alarm(
            "The item sweeper marked images failed: a pipeline step still stuck after ITEM_RESEND_MAX re-sends",
            AlarmName={"Fn::Sub": "${App}-${Stage}-items-stuck"},
            Namespace=ns, MetricName="ItemsStuck", Statistic="Sum", Period=PERIOD,
            Dimensions=[{"Name": "handler", "Value": "item_sweeper"}],
            ComparisonOperator="GreaterThanThreshold", Threshold=0),
        "ProviderMissingAlarm": _alarm(
            "A required AI provider key (SSM parameter) is missing or unreadable: calls fail as unavailable "
            "until it is set; GET /health names it",
            AlarmName={"Fn::Sub": "${App}-${Stage}-provider-missing"},
            Namespace=ns, MetricName="ProviderMissing", Statistic="Sum", Period=PERIOD,
            Dimensions=[{"Name": "check", "Value": "providers"}],
            ComparisonOperator="GreaterThanThreshold", Threshold=0),
        "DetectorErrorsAlarm": _alarm(
            "The pattern detector failed for some users (a Bedrock or database error); it went on with the next user",
            AlarmName={"Fn::Sub": "${App}-${Stage}-detector-errors"},
            Namespace=ns, MetricName="DetectorErrors", Statistic="Sum", Period=PERIOD,
            Dimensions=[{"Name": "handler", "Value": "pattern_detector"}],
            ComparisonOperator="GreaterThanThreshold", Threshold=0),
        "GenerationErrorsAlarm": _alarm(
            "Page generation failed for GenerationErrorsThreshold or more jobs in 10 minutes",
            AlarmName={"Fn::Sub": "${App}-${Stage}-generation-errors"},
            Namespace=ns, MetricName="GenerationErrors", Statistic="Sum", Period=600,
            Dimensions=[{"Name": "handler", "Value": "page_generator"}],
            ComparisonOperator="GreaterThanOrEqualToThreshold", Threshold={"Ref": "GenerationErrorsThreshold"}),
    }


def _widget(title: str, metrics: list[list[Any]], x: int, y: int, stat: str = "Sum", width: int = 12) -> dict:
    return {"type": "metric", "x": x, "y": y, "width": width, "height": 6, "properties": {
        "title": title, "region": "${AWS::Region}", "stat": stat, "period": PERIOD, "view": "timeSeries",
        "metrics": metrics}}


def dashboard_body() -> dict[str, Any]:
    """The dashboard's JSON (``${...}`` filled in by Fn::Sub)."""
    functions = list(stack.FUNCTIONS)

    def per_function(metric: str) -> list[list[Any]]:
        rows = []
        for f in functions:
            name = "${App}-${Stage}" if f == "api_handler" else f"${{App}}-${{Stage}}-{f}"
            rows.append(["AWS/Lambda", metric, "FunctionName", name, {"label": f}])
        return rows

    ns = "${App}/${Stage}"
    widgets = [
        _widget("Invocations", per_function("Invocations"), 0, 0),
        _widget("Errors", [*per_function("Errors"), [ns, "Errors", "kind", "http", {"label": "API 5xx responses"}]],
                12, 0),
        _widget("Duration (max)", per_function("Duration"), 0, 6, stat="Maximum"),
        _widget("Throttles", per_function("Throttles"), 12, 6),
        _widget("Page generator runs", [[ns, m, "handler", "page_generator"]
                                        for m in ("JobsProcessed", "PagesGenerated", "GenerationErrors")], 0, 12),
        _widget("Upload to stage end (s, p90)", [[ns, "StageSeconds", "stage", s]
                                                 for s in ("thumbnail", "analysis", "ready")], 12, 12, stat="p90"),
        _widget("Tasks by status (last 24 h)", [[ns, "Tasks", "status", s]
                                                for s in ("pending", "processing", "completed", "error")],
                0, 18, stat="Maximum"),
        _widget("Lost invocations, stuck tasks and items, failed events", [
            [ns, "TasksReinvoked", "handler", "task_sweeper"],
            [ns, "TasksStuck", "handler", "task_sweeper"],
            [ns, "ItemsResent", "handler", "item_sweeper"],
            [ns, "ItemsStuck", "handler", "item_sweeper"],
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "${FailuresQueueName}",
             {"stat": "Maximum", "label": "async failures queue"}]], 12, 18),
        _widget("Analyses repaired, re-asked, unusable; search answers failed", [
            *([ns, m, "stage", "analysis"] for m in ("AnalysisRepaired", "AnalysisReasked", "AnalysisUnusable")),
            *([ns, "AnswerFailures", "provider", p] for p in ("anthropic", "offline"))], 0, 24),
        _widget("Search answer latency (ms, p90)", [[ns, "AnswerLatency", "provider", p]
                                                    for p in ("anthropic", "offline")], 12, 24, stat="p90"),
    ]
    return {"widgets": widgets}


def alarm_topic() -> dict[str, dict[str, Any]]:
    """The SNS topic every alarm notifies, encrypted with a key of its own: CloudWatch cannot
    publish to a topic encrypted with the AWS managed ``alias/aws/sns`` (its key policy does not
    let cloudwatch.amazonaws.com use it and cannot be edited), so such alarms never notify."""
    alarms_of_stage = {"Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${App}-${Stage}-*"}
    from_our_alarms = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                       "ArnLike": {"aws:SourceArn": alarms_of_stage}}
    return {
        "AlarmTopicKey": {"Type": "AWS::KMS::Key", "Properties": {
            "Description": {"Fn::Sub": "${App}-${Stage}: encrypts the alarms topic"},
            "EnableKeyRotation": True, "PendingWindowInDays": 7,
            "KeyPolicy": {"Version": "2012-10-17", "Statement": [
                {"Sid": "AccountAdministers", "Effect": "Allow",
                 "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                 "Action": "kms:*", "Resource": "*"},
                {"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow",
                 "Principal": {"Service": "cloudwatch.amazonaws.com"},
                 "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
                 "Condition": from_our_alarms},
            ]}}},
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {
            "TopicName": {"Fn::Sub": "${App}-${Stage}-alarms"},
            "KmsMasterKeyId": {"Fn::GetAtt": ["AlarmTopicKey", "Arn"]}}},
        "AlarmTopicPolicy": {"Type": "AWS::SNS::TopicPolicy", "Properties": {
            "Topics": [{"Ref": "AlarmTopic"}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow",
                 "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish",
                 "Resource": {"Ref": "AlarmTopic"}, "Condition": from_our_alarms},
            ]}}},
    }


def template() -> dict[str, Any]:
    """The monitoring stack's CloudFormation template (every stage uses the same one)."""
    resources: dict[str, Any] = {
        **alarm_topic(),
        "AlarmEmailSubscription": {"Type": "AWS::SNS::Subscription", "Condition": "HasEmail", "Properties": {
            "TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}},
        "Dashboard": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
            "DashboardName": {"Fn::Sub": "${App}-${Stage}"},
            "DashboardBody": {"Fn::Sub": json.dumps(dashboard_body(), separators=(",", ":"))}}},
    }
    for function, fn in stack.FUNCTIONS.items():
        resources.update(function_alarms(function, fn))
    resources.update(stage_alarms())
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "ai-backend: alarms and dashboard of one stage (generated by deploy/policies.py "
                       "from deploy/stack.py and deploy/monitoring.py; do not edit)",
        "Parameters": {
            "App": {"Type": "String", "Default": stack.APP},
            "Stage": {"Type": "String", "AllowedPattern": "[a-z0-9-]+"},
            "FailuresQueueName": {"Type": "String"},
            "AlarmEmail": {"Type": "String", "Default": "",
                           "Description": "Subscribe this address to the alarms (empty: no subscription)"},
            "ErrorRatePercent": {"Type": "Number", "Default": 5, "MinValue": 0, "MaxValue": 100},
            "GenerationErrorsThreshold": {"Type": "Number", "Default": 3, "MinValue": 1},
        },
        "Conditions": {"HasEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}},
        "Resources": resources,
        "Outputs": {"AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
                    "DashboardName": {"Value": {"Ref": "Dashboard"}}},
    }


def parameters(stage: str, alarm_email: str = "") -> dict[str, str]:
    """The monitoring template's parameters for ``stage``."""
    opts = stack.stage_options(stage)
    return {"App": stack.APP, "Stage": stage, "FailuresQueueName": stack.names(stage)["failures_queue"],
            "AlarmEmail": alarm_email or opts.get("alarm_email", ""),
            "ErrorRatePercent": str(opts.get("alarm_error_rate_percent", 5)),
            "GenerationErrorsThreshold": str(opts.get("alarm_generation_errors", 3))}
