"""AWS stage (moto): POST /tasks stores in DynamoDB and hands the task to the worker through
seed 003's adapter with InvocationType=Event; the worker then runs from that payload."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber

from chalicelib import settings
from chalicelib.invoke.invoker import AdapterInvoker
from tests.conftest import ROOT, TEST_JWT_SECRET, auth_headers
from tests.tasks.conftest import make_table

WORKER = "ai-backend-dev-task_worker"


@pytest.fixture()
def aws_stage(monkeypatch: pytest.MonkeyPatch, aws, tmp_path: Path, pg_url: str,  # noqa: ANN001, ANN201
              override_adapters):  # noqa: ANN001
    monkeypatch.setenv("STAGE", "dev")
    monkeypatch.setenv("SSM_PREFIX", "")
    monkeypatch.setenv("PROVIDERS", "offline")  # asked for explicitly: records say "offline"
    monkeypatch.setenv("TASK_STORE", "dynamodb")
    monkeypatch.setenv("DYNAMODB_TABLE_NAME", "valro-tasks-dev")
    monkeypatch.setenv("WORKER_LAMBDA_ARN", WORKER)
    monkeypatch.setenv("JWT_SECRET", TEST_JWT_SECRET)
    # The agent's vendor directory and quote requests live in SQL; its e-mails go out with SES.
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("QUOTE_EMAIL_SENDER", "quotes@valro.example")
    monkeypatch.setenv("QUOTE_LINK_SECRET", "q" * 48)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://api.valro.example/api")
    settings.reset()
    boto3.client("ses", region_name="us-east-1").verify_email_identity(EmailAddress="quotes@valro.example")
    table = make_table("valro-tasks-dev")
    lam = boto3.client("lambda", region_name="us-east-1")
    stubber = Stubber(lam)
    stubber.activate()
    override_adapters(invoker=AdapterInvoker("us-east-1", client=lam, max_retries=0))
    yield table, stubber
    settings.reset()


def test_post_stores_in_dynamodb_and_invokes_the_worker_async(aws_stage, user) -> None:  # noqa: ANN001
    from chalice.test import Client

    from app import app

    table, stubber = aws_stage
    stubber.add_response("invoke", {"StatusCode": 202},
                         {"FunctionName": WORKER, "InvocationType": "Event", "Payload": ANY})
    with Client(app, stage_name="dev", project_dir=str(ROOT)) as client:
        response = client.http.post("/tasks", headers=auth_headers(user),
                                    body=json.dumps({"description": "Find me an electrician"}))
        assert response.status_code == 202, response.body
        task_id = response.json_body["id"]
        stubber.assert_no_pending_responses()
        item = table.get_item(Key={"id": task_id})["Item"]
        assert item["owner"] == user and item["status"] == "pending"
        assert [e["message"] for e in item["events"]] == ["Task created", "Worker Lambda invoked - processing started"]

        # The worker, invoked with the payload the adapter sent, completes the task.
        result = client.lambda_.invoke("task_worker", {"task_id": task_id}).payload
        assert result["status"] == "completed"
        got = client.http.get(f"/tasks/{task_id}", headers=auth_headers(user)).json_body
        assert got["status"] == "completed" and got["provider_used"] == "offline"
        assert client.http.get(f"/tasks/{task_id}", headers=auth_headers("someone-else")).status_code == 404


def test_throttled_invoke_is_retried_then_left_to_the_sweeper(aws_stage, user, monkeypatch,  # noqa: ANN001
                                                               override_adapters) -> None:  # noqa: ANN001
    """Lambda throttles the hand-off past the adapter's retries: 202 anyway (the task is stored
    in DynamoDB as pending with the reason), and the sweeper's re-invoke goes through."""
    import time

    from chalice.test import Client

    from app import app

    table, stubber = aws_stage
    lam = stubber.client
    override_adapters(invoker=AdapterInvoker("us-east-1", client=lam, max_retries=2,
                                             initial_retry_delay=0.01, max_retry_delay=0.02))
    monkeypatch.setenv("TASK_REINVOKE_AFTER_SECONDS", "0")
    for _ in range(3):
        stubber.add_client_error("invoke", "TooManyRequestsException", http_status_code=429)
    with Client(app, stage_name="dev", project_dir=str(ROOT)) as client:
        response = client.http.post("/tasks", headers=auth_headers(user),
                                    body=json.dumps({"description": "Find me a mason"}))
        assert response.status_code == 202, response.body
        stubber.assert_no_pending_responses()  # 1 try + 2 retries
        items = table.scan()["Items"]
        assert len(items) == 1 and items[0]["status"] == "pending"
        assert "TooManyRequestsException" in items[0]["events"][-1]["message"]

        stubber.add_response("invoke", {"StatusCode": 202})
        time.sleep(0.01)
        sweep = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                                detail={}, resources=[])
        assert client.lambda_.invoke("task_sweeper", sweep).payload["reinvoked"] == 1
        stubber.assert_no_pending_responses()
    assert table.scan()["Items"][0]["events"][-1]["message"].endswith("invoked again (1 of 2)")
