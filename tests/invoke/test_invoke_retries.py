"""Retries: which errors are retried, how often, and how long the adapter waits."""

from __future__ import annotations

import asyncio

import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.stub import ANY
from invoke_helpers import Recorder, streaming

from chalicelib.invoke import ExecuteRequest, classify_error

OK = {"success": True, "message": "done"}
REQUEST = ExecuteRequest(command="process", args=["data"], user_id="u", session_id="s1", platform="discord")


def add_ok(stubber, body=OK, function="my-function"):
    stubber.add_response(
        "invoke",
        {"StatusCode": 200, "Payload": streaming(body)},
        {"FunctionName": function, "InvocationType": "RequestResponse", "Payload": ANY},
    )


def add_error(stubber, code, status):
    stubber.add_client_error("invoke", service_error_code=code, service_message=code, http_status_code=status)


def test_throttled_twice_then_succeeds_with_growing_jittered_delays(make_adapter, stubber, recorder):
    add_error(stubber, "ThrottlingException", 429)
    add_error(stubber, "ThrottlingException", 429)
    add_ok(stubber)

    response = make_adapter(initial_retry_delay=0.5).execute(REQUEST)

    assert response.success is True
    assert response.message == "done"
    assert response.attempts == 3
    assert len(recorder.sleeps) == 2
    # equal jitter: retry n waits in [cap/2, cap], cap = 0.5 * 2**(n-1)
    assert 0.25 <= recorder.sleeps[0] <= 0.5
    assert 0.5 <= recorder.sleeps[1] <= 1.0
    assert recorder.sleeps[1] > recorder.sleeps[0]


def test_jitter_bounds_and_cap(make_adapter, stubber):
    rec = Recorder(rng_values=[0.0, 1.0, 0.0, 1.0, 0.0])
    for _ in range(5):
        add_error(stubber, "TooManyRequestsException", 429)
    adapter = make_adapter(max_retries=4, initial_retry_delay=1.0, max_retry_delay=3.0, sleep=rec.sleep, rng=rec.rng)

    response = adapter.execute(REQUEST)

    assert response.success is False
    assert response.attempts == 5
    assert response.error_code == "TooManyRequestsException"
    # caps: 1, 2, 3 (capped from 4), 3 (capped from 8); rng 0 -> cap/2, rng 1 -> cap
    assert rec.sleeps == pytest.approx([0.5, 2.0, 1.5, 3.0])
    assert all(s <= 3.0 for s in rec.sleeps)


def test_backoff_delay_never_exceeds_max(make_adapter):
    adapter = make_adapter(initial_retry_delay=0.5, max_retry_delay=30.0, rng=lambda: 1.0)
    assert [adapter.backoff_delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_service_exception_is_retried(make_adapter, stubber, recorder):
    add_error(stubber, "ServiceException", 500)
    add_ok(stubber)

    response = make_adapter().execute(REQUEST)

    assert response.success is True
    assert response.attempts == 2
    assert len(recorder.sleeps) == 1


def test_resource_not_found_is_not_retried(make_adapter, stubber, recorder):
    add_error(stubber, "ResourceNotFoundException", 404)

    response = make_adapter().execute(REQUEST)

    assert response.success is False
    assert response.attempts == 1
    assert response.error_code == "ResourceNotFoundException"
    assert "ResourceNotFoundException" in response.error
    assert recorder.sleeps == []


def test_function_error_is_a_failure_and_not_retried(make_adapter, stubber, recorder):
    stubber.add_response(
        "invoke",
        {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "Payload": streaming({"errorMessage": "division by zero", "errorType": "ZeroDivisionError"}),
        },
    )

    response = make_adapter().execute(REQUEST)

    assert response.success is False
    assert response.attempts == 1
    assert response.function_error == "Unhandled"
    assert "ZeroDivisionError" in response.error and "division by zero" in response.error
    assert recorder.sleeps == []


def test_max_retries_zero_means_one_attempt(make_adapter, stubber, recorder):
    add_error(stubber, "ThrottlingException", 429)

    response = make_adapter(max_retries=0).execute(REQUEST)

    assert (response.success, response.attempts, recorder.sleeps) == (False, 1, [])


class ScriptedClient:
    """A fake Lambda client: raises or returns the scripted outcomes in order."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls: list[dict] = []

    def invoke(self, **kwargs):
        self.calls.append(kwargs)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


@pytest.mark.parametrize(
    "exc",
    [
        ConnectTimeoutError(endpoint_url="http://x"),
        ReadTimeoutError(endpoint_url="http://x"),
        EndpointConnectionError(endpoint_url="http://x"),
        ConnectionClosedError(endpoint_url="http://x"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_network_errors_are_retried(make_adapter, recorder, exc):
    client = ScriptedClient(exc, {"StatusCode": 200, "Payload": streaming(OK)})

    response = make_adapter(client=client).execute(REQUEST)

    assert response.success is True
    assert len(client.calls) == 2
    assert classify_error(exc).retryable


def test_unexpected_exception_becomes_a_failure_not_a_raise(make_adapter, recorder):
    client = ScriptedClient(RuntimeError("boom"))

    response = make_adapter(client=client).execute(REQUEST)

    assert response.success is False
    assert response.error_code == "RuntimeError"
    assert len(client.calls) == 1


def test_execute_async_retries_with_async_sleep(make_adapter, stubber, recorder):
    add_error(stubber, "ThrottlingException", 429)
    add_ok(stubber)

    response = asyncio.run(make_adapter().execute_async(REQUEST))

    assert response.success is True
    assert response.attempts == 2
    assert len(recorder.sleeps) == 1


def test_execute_async_runs_concurrently(make_adapter, stubber):
    for _ in range(3):
        add_ok(stubber)
    adapter = make_adapter()

    async def main():
        return await asyncio.gather(*(adapter.execute_async(REQUEST) for _ in range(3)))

    assert [r.success for r in asyncio.run(main())] == [True, True, True]
    assert adapter.get_health_status()["total_requests"] == 3


def test_attempts_are_logged_without_payload(make_adapter, stubber, caplog):
    add_error(stubber, "ThrottlingException", 429)
    add_ok(stubber)
    secret_request = ExecuteRequest(command="login", args=["hunter2-password"], session_id="s")

    with caplog.at_level("INFO", logger="chalicelib.invoke"):
        make_adapter().execute(secret_request)

    text = caplog.text
    assert "function=my-function" in text and "attempt=1/4" in text
    assert "code=ThrottlingException" in text and "retry_in=" in text
    assert "hunter2" not in text
