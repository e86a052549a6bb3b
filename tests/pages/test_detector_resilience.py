"""The pattern detector survives one user's Bedrock error (counted in ``DetectorErrors``, logged,
next user) and stops before its Lambda deadline."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from chalicelib import settings, wiring
from chalicelib.pages import handlers as entry
from chalicelib.pages.model import cache_key
from chalicelib.pages.repository import PagesRepository
from tests.conftest import auth_headers

ANSWER = '{"predictions": [{"page_type": "billing", "confidence": 0.9, "reason": "monthly"}]}'


def bedrock_with_a_failing_user() -> tuple:
    """A real bedrock-runtime client whose Converse is answered at the edge (botocore's
    before-call hook): visits to ``fail-page`` get a ThrottlingException, others an answer."""
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    calls: list[str] = []

    def answer(params: dict, **_: object) -> tuple:
        text = json.loads(params["body"])["messages"][0]["content"][0]["text"]
        pages = {v["page"] for v in json.loads(text)["visits"]}
        calls.append(",".join(sorted(pages)))
        if "fail-page" in pages:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Converse")
        parsed = {"output": {"message": {"role": "assistant", "content": [{"text": ANSWER}]}},
                  "stopReason": "end_turn", "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
                  "metrics": {"latencyMs": 1}}
        return AWSResponse("https://bedrock.local", 200, {}, None), parsed

    client.meta.events.register("before-call.bedrock-runtime.Converse", answer)
    return client, calls


class Context:
    """A Lambda context whose remaining time is read from a list (the last value repeats)."""

    def __init__(self, *remaining_ms: int) -> None:
        self.remaining = list(remaining_ms)
        self.aws_request_id = "req-1"
        self.function_name = "ai-backend-local-pattern_detector"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining.pop(0) if len(self.remaining) > 1 else self.remaining[0]


def scheduled() -> dict:
    return {"version": "0", "id": "e-1", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-11-20T09:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/pattern_detector"], "detail": {}}


@pytest.fixture()
def bedrock(client, monkeypatch, override_adapters):  # noqa: ANN001, ANN201
    monkeypatch.setenv("PATTERN_DETECTOR", "bedrock")
    settings.reset()
    fake, calls = bedrock_with_a_failing_user()
    override_adapters(bedrock_runtime=fake)
    return calls


def test_one_users_bedrock_error_is_counted_and_the_next_user_is_served(client, bedrock, capsys) -> None:  # noqa: ANN001
    from app import app

    failing, served = f"a-{uuid.uuid4().hex[:8]}", f"b-{uuid.uuid4().hex[:8]}"
    for user, page in ((failing, "fail-page"), (served, "invoices")):
        response = client.http.post("/activity", headers=auth_headers(user),
                                    body=json.dumps({"page": page, "action": "view"}))
        assert response.status_code == 202
    capsys.readouterr()
    stats = app.handler_map["pattern_detector"](scheduled(), Context(300_000))
    assert stats["errors"] >= 1 and stats["users"] >= 2 and not stats["stopped_early"]
    assert "fail-page" in bedrock and "invoices" in bedrock
    engine = wiring.pages_engine()
    assert PagesRepository(engine).active_job(cache_key(served, "billing")) is not None  # the next user got his page queued
    assert PagesRepository(engine).active_job(cache_key(failing, "billing")) is None
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{") and '"_aws"' in x]
    (run,) = [x for x in lines if x["msg"] == "pattern detector run"]
    assert run["DetectorErrors"] == stats["errors"] and run["UsersScanned"] == stats["users"]


def test_the_run_stops_before_its_deadline(client, bedrock) -> None:  # noqa: ANN001
    from app import app

    for page in ("invoices", "reports"):
        client.http.post("/activity", headers=auth_headers(f"c-{uuid.uuid4().hex[:8]}"),
                         body=json.dumps({"page": page, "action": "view"}))
    handler = app.handler_map["pattern_detector"]
    nothing = handler(scheduled(), Context(entry.DETECTOR_MARGIN_MS - 1))
    assert nothing["users"] == 0 and nothing["stopped_early"] and bedrock == []
    one = handler(scheduled(), Context(300_000, entry.DETECTOR_MARGIN_MS - 1))
    assert one["users"] == 1 and one["stopped_early"] and len(bedrock) == 1
