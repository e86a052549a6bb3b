"""Payload mapping (seed 003 "Lambda Invocation Payload") and response parsing."""

from __future__ import annotations

import json

import pytest
from botocore.stub import ANY
from invoke_helpers import FIXED_NOW, SEED_PAYLOAD, SEED_REQUEST, streaming

from chalicelib.invoke import ExecuteRequest, build_payload, parse_invoke_response


def test_payload_equals_the_seed_example_field_for_field():
    assert build_payload(SEED_REQUEST, now=FIXED_NOW) == SEED_PAYLOAD


class JsonEquals:
    """Matches a Stubber parameter whose JSON bytes decode to ``expected``."""

    def __init__(self, expected):
        self.expected = expected

    def __eq__(self, other):
        return json.loads(other) == self.expected

    def __ne__(self, other):
        return not self == other

    __hash__ = None


def test_adapter_sends_exactly_that_payload(make_adapter, stubber):
    stubber.add_response(
        "invoke",
        {"StatusCode": 200, "Payload": streaming({"success": True})},
        {"FunctionName": "my-function", "InvocationType": "RequestResponse", "Payload": JsonEquals(SEED_PAYLOAD)},
    )
    assert make_adapter().execute(SEED_REQUEST).success is True


def test_payload_without_metadata_uses_nulls_not_guesses():
    payload = build_payload(ExecuteRequest(command="ping", session_id="s"), now=FIXED_NOW)
    assert payload["community"] == {
        "id": "",
        "name": None,
        "is_subscribed": False,
        "subscription_order_id": None,
        "seat_count": 0,
    }
    assert payload["trigger"]["context_text"] == ""
    assert payload["user"]["username"] is None
    assert payload["timestamp"].endswith("Z")


def test_event_trigger_fields_come_from_metadata():
    request = ExecuteRequest(command="c", metadata={"trigger": {"event_type": "follow", "event_data": {"x": 1}}})
    trigger = build_payload(request, now=FIXED_NOW)["trigger"]
    assert (trigger["event_type"], trigger["event_data"]) == ("follow", {"x": 1})


def test_custom_fields_are_preserved(make_adapter, stubber):
    seed_response = {
        "success": True,
        "message": "Operation completed",
        "response_type": "text",
        "overlay_data": None,
        "browser_source_url": None,
        "targets": ["discord", "twitch"],
        "custom_field": "preserved_value",
    }
    stubber.add_response("invoke", {"StatusCode": 200, "Payload": streaming(seed_response)})

    response = make_adapter().execute(SEED_REQUEST)

    assert response.success is True
    assert response.message == "Operation completed"
    assert response.targets == ["discord", "twitch"]
    assert response.extra == {"custom_field": "preserved_value"}
    assert response.status_code == 200
    assert response.to_dict() == {**seed_response, "error": None}


def test_api_gateway_style_body_is_unwrapped():
    inner = {"success": True, "message": "hi", "custom": 1}
    raw = {"StatusCode": 200, "Payload": streaming({"statusCode": 200, "body": json.dumps(inner)})}
    response = parse_invoke_response(raw, "RequestResponse")
    assert (response.success, response.message, response.extra, response.status_code) == (True, "hi", {"custom": 1}, 200)


def test_api_gateway_style_error_status_is_a_failure():
    raw = {"StatusCode": 200, "Payload": streaming({"statusCode": 503, "body": json.dumps({"message": "down"})})}
    response = parse_invoke_response(raw, "RequestResponse")
    assert response.success is False
    assert response.status_code == 503
    assert response.error == "down"


def test_module_reported_failure_keeps_its_error():
    raw = {"StatusCode": 200, "Payload": streaming({"success": False, "error": "bad argument"})}
    response = parse_invoke_response(raw, "RequestResponse")
    assert (response.success, response.error) == (False, "bad argument")


def test_non_json_payload_is_a_failure(make_adapter, stubber):
    stubber.add_response("invoke", {"StatusCode": 200, "Payload": streaming("<html>oops</html>")})
    response = make_adapter().execute(SEED_REQUEST)
    assert response.success is False
    assert "non-JSON" in response.error
    assert response.attempts == 1


@pytest.mark.parametrize("body", ["null", '"plain text"', "[1, 2]"])
def test_non_object_json_is_success(body):
    response = parse_invoke_response({"StatusCode": 200, "Payload": streaming(body)}, "RequestResponse")
    assert response.success is True
    assert response.payload == json.loads(body)


def test_event_mode_returns_queued(make_adapter, stubber):
    stubber.add_response(
        "invoke",
        {"StatusCode": 202, "Payload": streaming("")},
        {"FunctionName": "my-function", "InvocationType": "Event", "Payload": ANY},
    )
    response = make_adapter(invocation_type="Event").execute(SEED_REQUEST)
    assert (response.success, response.message, response.status_code) == (True, "Lambda function queued", 202)


def test_invoke_payload_hands_a_raw_payload_to_a_worker_as_event(make_adapter, stubber):
    stubber.add_response(
        "invoke",
        {"StatusCode": 202},
        {"FunctionName": "my-function", "InvocationType": "Event", "Payload": b'{"task_id":"t-1"}'},
    )
    response = make_adapter().invoke_payload({"task_id": "t-1"}, invocation_type="Event")
    assert response.success is True
    assert response.raise_for_error() is response


def test_raise_for_error_raises_with_the_response(make_adapter, stubber):
    from chalicelib.invoke import InvocationFailed

    stubber.add_client_error("invoke", "AccessDeniedException", "no", 403)
    response = make_adapter().invoke_payload({"task_id": "t-1"}, invocation_type="Event")
    with pytest.raises(InvocationFailed) as info:
        response.raise_for_error()
    assert info.value.response is response


def test_invoke_payload_rejects_bad_payloads_and_types(make_adapter):
    adapter = make_adapter()
    with pytest.raises(ValueError, match="payload"):
        adapter.invoke_payload(["not", "a", "dict"])
    with pytest.raises(ValueError, match="payload"):
        adapter.invoke_payload({"x": object()})
    with pytest.raises(ValueError, match="invocation_type"):
        adapter.invoke_payload({}, invocation_type="DryRun")
