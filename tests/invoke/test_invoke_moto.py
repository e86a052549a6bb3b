"""One end-to-end pass through a real boto3 client against moto's Lambda (in process).

moto's "simple" Lambda backend (``use_docker: False``) echoes the payload back instead of
running the code, which is enough to check that the lazily built client, the function name
and the wire format line up. No sockets are opened: moto intercepts inside botocore.
"""

from __future__ import annotations

import io
import zipfile

import boto3
import pytest
from invoke_helpers import FIXED_NOW, SEED_PAYLOAD, SEED_REQUEST

from chalicelib.invoke import LambdaAdapter

moto = pytest.importorskip("moto")


@pytest.fixture
def moto_lambda(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with moto.mock_aws(config={"lambda": {"use_docker": False}}):
        role = boto3.client("iam", region_name="us-east-1").create_role(
            RoleName="invoke-test", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("h.py", "def handler(event, context):\n    return event\n")
        arn = boto3.client("lambda", region_name="us-east-1").create_function(
            FunctionName="waddlebot-echo",
            Runtime="python3.11",
            Role=role,
            Handler="h.handler",
            Code={"ZipFile": code.getvalue()},
        )["FunctionArn"]
        yield arn


def test_sync_and_event_invocations_through_moto(moto_lambda):
    adapter = LambdaAdapter("echo", "us-east-1", "echo_module", function_prefix="waddlebot-", clock=lambda: FIXED_NOW)
    response = adapter.execute(SEED_REQUEST)
    assert response.success is True
    assert response.payload == SEED_PAYLOAD  # the echo: exactly what went over the wire
    assert response.status_code == 200

    queued = LambdaAdapter(moto_lambda, "us-east-1", "echo_module").invoke_payload({"task_id": "t-1"}, "Event")
    assert (queued.success, queued.message, queued.status_code) == (True, "Lambda function queued", 202)
    assert adapter.get_health_status()["total_requests"] == 1
