"""Validation, function-name resolution, the lazily built client, health and module info."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from botocore.exceptions import ClientError
from invoke_helpers import streaming

from chalicelib.invoke import (
    ExecuteRequest,
    HealthTracker,
    LambdaAdapter,
    classify_error,
    resolve_function_name,
)

BASE = {"function_identifier": "fn", "region": "us-east-1", "module_name": "mod"}


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("function_identifier", ""),
        ("function_identifier", "   "),
        ("function_identifier", "bad name!"),
        ("function_identifier", "arn:aws:lambda:us-east-1:123:function:x"),
        ("region", ""),
        ("module_name", ""),
        ("module_name", "my module"),
        ("module_name", "mod.ule"),
        ("function_prefix", "bad/prefix"),
        ("invocation_type", "DryRun"),
        ("max_retries", -1),
        ("max_retries", 1.5),
        ("initial_retry_delay", 0),
        ("initial_retry_delay", -0.5),
        ("max_retry_delay", 0),
        ("max_retry_delay", 0.1),  # below initial_retry_delay 0.5
        ("connect_timeout", 0),
        ("connect_timeout", "10"),
        ("read_timeout", -1),
        ("read_timeout", 901),
        ("module_version", ""),
        ("required_scopes", "community.read"),
        ("aws_secret_access_key", "only-secret"),
    ],
)
def test_invalid_configuration_names_the_argument(argument, value):
    kwargs = {**BASE, argument: value}
    expected = "aws_access_key_id" if argument == "aws_secret_access_key" else argument
    with pytest.raises(ValueError, match=expected):
        LambdaAdapter(**kwargs)


def test_limits_are_accepted_at_the_edge():
    adapter = LambdaAdapter(**BASE, read_timeout=900, max_retries=0, initial_retry_delay=1, max_retry_delay=1)
    assert adapter.read_timeout == 900.0


@pytest.mark.parametrize(
    ("identifier", "prefix", "expected"),
    [
        ("my-function", "", "my-function"),
        ("my-function", "waddlebot-", "waddlebot-my-function"),
        ("waddlebot-my-function", "waddlebot-", "waddlebot-my-function"),
        ("my-function:live", "waddlebot-", "waddlebot-my-function:live"),
        ("my-function:$LATEST", "", "my-function:$LATEST"),
        (
            "arn:aws:lambda:us-east-1:123456789012:function:my-function",
            "waddlebot-",
            "arn:aws:lambda:us-east-1:123456789012:function:my-function",
        ),
        (
            "arn:aws:lambda:us-east-1:123456789012:function:my-function:prod",
            "waddlebot-",
            "arn:aws:lambda:us-east-1:123456789012:function:my-function:prod",
        ),
        ("123456789012:function:my-function", "waddlebot-", "123456789012:function:my-function"),
    ],
)
def test_function_name_resolution(identifier, prefix, expected):
    assert resolve_function_name(identifier, prefix, "us-east-1") == expected
    assert LambdaAdapter(identifier, "us-east-1", "mod", function_prefix=prefix).function_name == expected


def test_arn_in_another_region_is_rejected():
    with pytest.raises(ValueError, match="function_identifier.*eu-west-1"):
        resolve_function_name("arn:aws:lambda:eu-west-1:123456789012:function:f", "", "us-east-1")


def test_prefixed_name_longer_than_64_is_rejected():
    with pytest.raises(ValueError, match="function_identifier"):
        resolve_function_name("f" * 60, "prefix-", "us-east-1")


def test_client_is_built_lazily_with_adapter_owned_retries():
    adapter = LambdaAdapter(
        **BASE,
        connect_timeout=3,
        read_timeout=120,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        endpoint_url="http://127.0.0.1:1",
    )
    assert adapter._client is None
    client = adapter.client
    assert adapter.client is client
    config = client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (3.0, 120.0)
    assert config.retries["total_max_attempts"] == 1
    assert client.meta.region_name == "us-east-1"


def test_importing_the_package_does_not_import_boto3():
    code = "import sys, chalicelib.invoke; print('boto3' in sys.modules or 'botocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_module_info_describes_the_module_without_credentials():
    adapter = LambdaAdapter(
        **{**BASE, "function_identifier": "my-function"},
        function_prefix="waddlebot-",
        invocation_type="Event",
        module_version="2.1.0",
        required_scopes=["community.read"],
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="very-secret",
    )
    info = adapter.get_module_info()
    assert info["name"] == "mod"
    assert info["version"] == "2.1.0"
    assert info["type"] == "lambda"
    assert info["function_name"] == "waddlebot-my-function"
    assert info["region"] == "us-east-1"
    assert info["invocation_type"] == "Event"
    assert info["required_scopes"] == ["community.read"]
    assert "very-secret" not in repr(info) and "AKIDEXAMPLE" not in repr(info)


# -- health ----------------------------------------------------------------------------------

REQUEST = ExecuteRequest(command="c", session_id="s")
SEED_HEALTH_KEYS = {
    "is_healthy",
    "last_success",
    "last_failure",
    "consecutive_failures",
    "total_requests",
    "total_failures",
    "error_rate",
}


def test_health_keys_are_exactly_the_seeds():
    assert set(LambdaAdapter(**BASE).get_health_status()) == SEED_HEALTH_KEYS
    assert LambdaAdapter(**BASE).get_health_status()["error_rate"] == 0.0


def test_three_consecutive_failures_make_it_unhealthy_and_a_success_resets(make_adapter, stubber):
    adapter = make_adapter(max_retries=0)
    for _ in range(2):
        stubber.add_client_error("invoke", "ResourceNotFoundException", "gone", 404)
        adapter.execute(REQUEST)
    assert adapter.is_healthy() is True
    stubber.add_client_error("invoke", "ResourceNotFoundException", "gone", 404)
    adapter.execute(REQUEST)
    assert adapter.is_healthy() is False
    status = adapter.get_health_status()
    assert status["consecutive_failures"] == 3
    assert status["last_failure"] == "2024-01-15T10:30:45.123456Z"
    assert status["last_success"] is None

    stubber.add_response("invoke", {"StatusCode": 200, "Payload": streaming({"success": True})})
    adapter.execute(REQUEST)
    status = adapter.get_health_status()
    assert status["is_healthy"] is True
    assert status["consecutive_failures"] == 0
    assert (status["total_requests"], status["total_failures"]) == (4, 3)
    assert status["error_rate"] == pytest.approx(0.75)
    assert status["last_success"] == "2024-01-15T10:30:45.123456Z"


def test_retries_count_as_one_request(make_adapter, stubber):
    stubber.add_client_error("invoke", "ThrottlingException", "slow down", 429)
    stubber.add_response("invoke", {"StatusCode": 200, "Payload": streaming({"success": True})})
    adapter = make_adapter()
    adapter.execute(REQUEST)
    assert adapter.get_health_status()["total_requests"] == 1
    assert adapter.get_health_status()["total_failures"] == 0


def test_function_error_counts_as_failure_but_module_reported_failure_does_not(make_adapter, stubber):
    adapter = make_adapter()
    stubber.add_response(
        "invoke",
        {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": streaming({"errorMessage": "x"})},
    )
    stubber.add_response("invoke", {"StatusCode": 200, "Payload": streaming({"success": False, "error": "usage"})})
    adapter.execute(REQUEST)
    adapter.execute(REQUEST)
    status = adapter.get_health_status()
    assert (status["total_requests"], status["total_failures"], status["consecutive_failures"]) == (2, 1, 0)


def test_health_tracker_is_thread_safe():
    tracker = HealthTracker()

    def work():
        for i in range(1000):
            tracker.record_failure() if i % 4 == 0 else tracker.record_success()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    status = tracker.status()
    assert (status["total_requests"], status["total_failures"]) == (8000, 2000)
    assert status["error_rate"] == pytest.approx(0.25)


# -- classification --------------------------------------------------------------------------


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Invoke")


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("ThrottlingException", 400, "retryable"),
        ("TooManyRequestsException", 429, "retryable"),
        ("ServiceUnavailableException", 503, "retryable"),
        ("ServiceException", 500, "retryable"),
        ("EC2ThrottledException", 502, "retryable"),
        ("ResourceConflictException", 409, "retryable"),
        ("ResourceNotReadyException", 502, "retryable"),
        ("SomethingNew", 503, "retryable"),
        ("SomethingNew", 429, "retryable"),
        ("ResourceNotFoundException", 404, "non_retryable"),
        ("AccessDeniedException", 403, "non_retryable"),
        ("InvalidParameterValueException", 400, "non_retryable"),
        ("RequestTooLargeException", 413, "non_retryable"),
        ("KMSAccessDeniedException", 502, "non_retryable"),
        ("ENILimitReachedException", 502, "non_retryable"),
        ("SomethingElse", 400, "non_retryable"),
    ],
)
def test_classify_error(code, status, kind):
    verdict = classify_error(client_error(code, status))
    assert verdict.kind == kind
    assert verdict.code == code
    assert verdict.reason


def test_classify_plain_exceptions():
    assert classify_error(TimeoutError()).retryable
    assert not classify_error(ValueError("x")).retryable
