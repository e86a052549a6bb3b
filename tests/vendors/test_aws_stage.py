"""An AWS stage (moto): tasks in DynamoDB, the directory in PostgreSQL, quote requests sent with
Amazon SES ``SendEmail`` from the stage's verified sender; the vendor route records the quote on
the DynamoDB task."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import ANY, Stubber

from chalicelib import settings, wiring
from chalicelib.aws.mail import SesMailer
from chalicelib.invoke.invoker import AdapterInvoker
from chalicelib.ports import MailRejected
from tests.conftest import ROOT, TEST_JWT_SECRET, auth_headers
from tests.tasks.conftest import make_table

SENDER = "quotes@valro.example"
WORKER = "ai-backend-dev-task_worker"
BASE = "https://api.valro.example/api"


def ses_messages() -> list:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages


def test_ses_mailer_sends_from_the_verified_identity_only(aws) -> None:  # noqa: ANN001
    ses = boto3.client("ses", region_name="us-east-1")
    ses.verify_email_identity(EmailAddress=SENDER)
    message_id = SesMailer(ses, SENDER).send("vendor@pipes.example", "Request for a quote", "Hello\nlink")
    [sent] = ses_messages()
    assert message_id == sent.id and sent.source == SENDER and sent.destinations["ToAddresses"] == ["vendor@pipes.example"]
    assert sent.subject == "Request for a quote" and sent.body == "Hello\nlink"
    with pytest.raises(MailRejected, match="MessageRejected"):
        SesMailer(ses, "someone@unverified.example").send("vendor@pipes.example", "s", "b")


@pytest.fixture()
def aws_stage(monkeypatch: pytest.MonkeyPatch, aws, pg_url: str,  # noqa: ANN001
              override_adapters) -> Iterator[Stubber]:  # noqa: ANN001
    for name, value in {"STAGE": "dev", "SSM_PREFIX": "", "TASK_STORE": "dynamodb", "DYNAMODB_TABLE_NAME": "valro-tasks-dev",
                        "WORKER_LAMBDA_ARN": WORKER, "JWT_SECRET": TEST_JWT_SECRET, "DATABASE_URL": pg_url,
                        "QUOTE_EMAIL_SENDER": SENDER, "QUOTE_LINK_SECRET": "q" * 48, "PUBLIC_BASE_URL": BASE,
                        "PROVIDERS": "offline"}.items():
        monkeypatch.setenv(name, value)
    settings.reset()
    make_table("valro-tasks-dev")
    boto3.client("ses", region_name="us-east-1").verify_email_identity(EmailAddress=SENDER)
    lam = boto3.client("lambda", region_name="us-east-1")
    stubber = Stubber(lam)
    stubber.activate()
    override_adapters(invoker=AdapterInvoker("us-east-1", client=lam, max_retries=0))
    yield stubber
    settings.reset()


def test_quote_requests_go_out_through_ses_and_the_answer_reaches_dynamodb(aws_stage: Stubber, user: str) -> None:
    from chalice.test import Client

    from app import app
    from chalicelib.vendors.importer import import_text

    town = f"sesville {uuid.uuid4().hex[:8]}"
    import_text(wiring.vendor_directory(), "name,trades,areas,email\n"
                f"Ses Pipes,plumbing,{town},pipes-{town[-8:]}@ses.example\n"
                f"Ses Drains,plumbing,{town},drains-{town[-8:]}@ses.example\n")
    aws_stage.add_response("invoke", {"StatusCode": 202}, {"FunctionName": WORKER, "InvocationType": "Event",
                                                           "Payload": ANY})
    with Client(app, stage_name="dev", project_dir=str(ROOT)) as client:
        created = client.http.post("/tasks", headers=auth_headers(user),
                                   body=json.dumps({"description": f"A leaking pipe, plumber needed in {town}"}))
        task_id = created.json_body["id"]
        assert client.lambda_.invoke("task_worker", {"task_id": task_id}).payload["status"] == "completed"
        sent = ses_messages()
        assert sorted(m.destinations["ToAddresses"][0] for m in sent) == sorted(
            [f"pipes-{town[-8:]}@ses.example", f"drains-{town[-8:]}@ses.example"])
        assert all(m.source == SENDER for m in sent)
        task = client.http.get(f"/tasks/{task_id}", headers=auth_headers(user)).json_body
        assert task["emails_sent"] == 2 and {v["name"] for v in task["vendors"]} == {"Ses Pipes", "Ses Drains"}

        link = re.search(re.escape(BASE) + r"(/vendor/quotes/\S+)", sent[0].body).group(1)
        answer = client.http.post(link, headers={"Content-Type": "application/json"},
                                  body=json.dumps({"price": "1200.00", "currency": "USD", "note": "Parts included"}))
        assert answer.status_code == 200, answer.body
        item = boto3.resource("dynamodb", region_name="us-east-1").Table("valro-tasks-dev").get_item(
            Key={"id": task_id})["Item"]
        assert [(q["price"], q["currency"]) for q in item["quotes"]] == [(1200, "USD")]
        assert item["events"][-1]["message"].startswith("Quote received from Ses ")
