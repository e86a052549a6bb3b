"""What `chalice package` makes of app.py and .chalice/config.json, per stage: every handler
with its trigger, size, guard against overlap, environment and its own policy."""

from __future__ import annotations

import json

from deploy import stack

RATES = {"task_sweeper": "rate(5 minutes)", "item_sweeper": "rate(5 minutes)", "pattern_detector": "rate(5 minutes)", "page_generator": "rate(2 minutes)"}
PATTERNS = {"collections_analyzer": ("collections.imageprocessor", "ImageProcessed"),
            "collections_embedder": ("collections.analyzer", "AnalysisComplete")}
SEEDS = {  # function: (memory MB, timeout s) as seeds 000, 001/004 and 002 give them
    "api_handler": (512, 30), "task_worker": (1024, 600), "collections_image_processor": (1024, 60),
    "collections_analyzer": (1024, 300), "collections_embedder": (512, 60), "page_generator": (512, 300),
}


def test_every_function_with_its_size_and_overlap_guard(package) -> None:  # noqa: ANN001
    stage, resources = package
    functions = resources["aws_lambda_function"]
    assert set(functions) == set(stack.FUNCTIONS), "app.py's handlers and deploy/stack.py disagree"
    for name, (memory, timeout) in SEEDS.items():
        assert (functions[name]["memory_size"], functions[name]["timeout"]) == (memory, timeout), name
    for name, fn in functions.items():
        assert fn["function_name"] == stack.deployed_name(stage, name)
        assert fn["runtime"] == "python3.11"
        assert fn.get("reserved_concurrent_executions") == stack.FUNCTIONS[name].reserved_concurrency, name
    for name in RATES:
        assert functions[name]["reserved_concurrent_executions"] == 1, f"{name} must not overlap itself"


def test_each_function_gets_only_its_environment(package) -> None:  # noqa: ANN001
    stage, resources = package
    for name, fn in resources["aws_lambda_function"].items():
        expected = {"LOG_LEVEL": "INFO", **stack.stage_env(stage), **stack.function_env(stage, name)}
        assert fn["environment"]["variables"] == expected, name
    env = {n: f["environment"]["variables"] for n, f in resources["aws_lambda_function"].items()}
    assert env["api_handler"]["WORKER_LAMBDA_ARN"] == f"ai-backend-{stage}-task_worker"
    assert env["api_handler"]["DYNAMODB_TABLE_NAME"] == env["task_worker"]["DYNAMODB_TABLE_NAME"] == f"valro-tasks-{stage}"
    assert env["task_sweeper"]["TASK_STORE"] == "dynamodb"
    assert "WORKER_LAMBDA_ARN" not in env["collections_embedder"] and "DYNAMODB_TABLE_NAME" not in env["jwt_auth"]
    assert {e["SSM_PREFIX"] for e in env.values()} == {f"/collections/{stage}"}
    assert {e["BUCKET_NAME"] for e in env.values()} == {f"ai-backend-images-{stage}"}


def test_triggers(package) -> None:  # noqa: ANN001
    stage, resources = package
    rules = resources["aws_cloudwatch_event_rule"]
    targets = {t["rule"]: t["arn"] for t in resources["aws_cloudwatch_event_target"].values()}
    assert set(rules) == {f"{n}-event" for n in (*RATES, *PATTERNS)}
    for name, rate in RATES.items():
        assert rules[f"{name}-event"]["schedule_expression"] == rate
        assert "event_pattern" not in rules[f"{name}-event"]
    for name, (source, detail_type) in PATTERNS.items():
        assert json.loads(rules[f"{name}-event"]["event_pattern"]) == {"source": [source], "detail-type": [detail_type]}
    for rule, arn in targets.items():
        assert rule.startswith("${aws_cloudwatch_event_rule.") and arn.startswith("${aws_lambda_function.")
        assert rule.split(".")[1] == arn.split(".")[1] + "-event"
    (notify,) = resources["aws_s3_bucket_notification"].values()
    assert notify["bucket"] == f"ai-backend-images-{stage}"
    (target,) = notify["lambda_function"]
    assert target["events"] == ["s3:ObjectCreated:*"]
    assert target["lambda_function_arn"] == "${aws_lambda_function.collections_image_processor.arn}"
    permissions = {p["function_name"]: p["principal"] for p in resources["aws_lambda_permission"].values()}
    assert permissions["${aws_lambda_function.collections_image_processor.arn}"] == "s3.amazonaws.com"
    (api,) = resources["aws_api_gateway_rest_api"].values()
    assert api["body"] == "${local.chalice_api_swagger}"
    swagger = resources["swagger"]
    assert "jwt_auth" in swagger["securityDefinitions"]
    for path in ("/tasks", "/items", "/search", "/activity", "/pages/{page_type}", "/me"):
        for method, op in swagger["paths"][path].items():
            if method != "options":
                assert op.get("security") == [{"jwt_auth": []}], (path, method)


def test_each_function_has_its_own_generated_policy(package) -> None:  # noqa: ANN001
    stage, resources = package
    roles = {name: r["name"] for name, r in resources["aws_iam_role"].items()}
    attached = {name.removesuffix("_role"): json.loads(p["policy"]) for name, p in resources["aws_iam_role_policy"].items()}
    assert set(attached) == set(stack.FUNCTIONS) and len(set(roles.values())) == len(stack.FUNCTIONS)
    for function, policy in attached.items():
        assert policy == stack.policy(stage, function), function
    for name, fn in resources["aws_lambda_function"].items():
        assert fn["role"] == f"${{aws_iam_role.{name}_role.arn}}"


def test_the_console_ships_and_the_local_operations_do_not(package, dev_zip) -> None:  # noqa: ANN001
    """The web console is served by the API of every AWS stage (its files inside the package);
    the local runtime's operations routes are not in the API at all."""
    import zipfile

    _, resources = package
    paths = resources["swagger"]["paths"]
    assert "security" not in paths["/"]["get"] and "security" not in paths["/console/{name}"]["get"]
    assert not [p for p in paths if p.startswith("/local/") and p not in ("/local/blobs", "/local/token")]
    names = set(zipfile.ZipFile(dev_zip).namelist())
    for asset in ("index.html", "main.js", "console.css", "favicon.svg"):
        assert f"chalicelib/console/static/{asset}" in names
