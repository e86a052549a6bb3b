"""Issue 7 (logs): a full flow with every secret set, real SDKs against fake servers, all loggers
at DEBUG, a failing provider call on the way: no secret, token or presigned signature in any
captured output, and every handler invocation logged as one JSON line with ids and outcome."""

from __future__ import annotations

import json
import logging
import re

import pytest

from chalicelib import settings, wiring
from tests.collections import images
from tests.collections.conftest import create_item, get_item, search, upload
from tests.conftest import TEST_JWT_SECRET, auth_headers, make_token
from tests.fakes import anthropic_server as fake_claude
from tests.fakes.server import FakeServer
from tests.fakes.voyage_server import voyage_server

CLAUDE_KEY = "sk-ant-api03-LEAKCHECK-claude-0123456789"
VOYAGE_KEY = "pa-LEAKCHECK-voyage-0123456789abcdef"
DB_PASSWORD = "LEAKCHECK-db-password-5f3a"  # the embedded server trusts loopback: any password connects
AWS_SECRET = "LEAKCHECK/aws-secret-access-key/0123456789"


@pytest.fixture()
def real_providers(monkeypatch: pytest.MonkeyPatch, local_env, pg_url):  # noqa: ANN001, ANN201
    from sqlalchemy.engine import make_url

    with FakeServer(fake_claude.schema_filling_handler) as claude, voyage_server() as voyage:
        monkeypatch.setenv("DATABASE_URL", make_url(pg_url).set(password=DB_PASSWORD)
                           .render_as_string(hide_password=False))
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
        monkeypatch.setenv("ANTHROPIC_API_KEY", CLAUDE_KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", claude.url)
        monkeypatch.setenv("VOYAGE_API_KEY", VOYAGE_KEY)
        monkeypatch.setenv("VOYAGE_BASE_URL", voyage.url + "/v1")
        monkeypatch.setenv("LOG_LEVEL", "DEBUG")
        settings.reset()
        wiring.set_app(__import__("app").app)
        yield claude, voyage


def test_full_flow_logs_no_secret(client, user, real_providers, capsys, caplog) -> None:  # noqa: ANN001
    claude, voyage = real_providers
    caplog.set_level(logging.DEBUG)  # every logger, the SDKs' and urllib3's included
    headers = auth_headers(user)
    token = headers["Authorization"].split()[1]
    runtime = wiring.local_runtime()

    created = client.http.post("/tasks", headers=headers, body=json.dumps({"description": "find vendors"}))
    assert created.status_code == 202
    for visited in ("dashboard", "reports"):
        assert client.http.post("/activity", headers=headers,
                                body=json.dumps({"page": visited, "action": "view"})).status_code == 202
    page = client.http.get("/pages/dashboard", headers=headers)
    assert page.status_code == 200, page.body
    item_id = upload(client, user, images.jpeg((900, 600), "blue"))
    runtime.drain()
    assert get_item(client, user, item_id).json_body["status"] == "ready"
    assert search(client, user, query="anything", mode="vector").status_code == 200
    presigned = create_item(client, user, "b.png", "image/png")
    expired = make_token(user, ttl=-60)
    assert client.http.get("/tasks", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    scheduled = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                               resources=[])
    for schedule in ("pattern_detector", "page_generator", "task_sweeper"):
        client.lambda_.invoke(schedule, scheduled)
    for _ in range(5):  # more than the SDK's retries
        claude.reply(529, {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    failed = client.http.get("/pages/reports", headers=headers)
    assert failed.status_code == 503  # the provider's failure was logged somewhere below
    assert client.http.get(f"/tasks/{created.json_body['id']}", headers=headers).json_body["status"] == "completed"
    assert claude.requests and voyage.requests  # the real SDKs did talk to the fake servers

    captured = capsys.readouterr()
    text = "\n".join([captured.out, captured.err, caplog.text])
    signature = re.search(r"signature=([^&]+)", presigned["upload"]["url"]).group(1)
    for secret in (CLAUDE_KEY, VOYAGE_KEY, TEST_JWT_SECRET, token, expired, signature, DB_PASSWORD, AWS_SECRET):
        assert secret not in text
    assert "LEAKCHECK" not in text

    invocations = [json.loads(line) for line in captured.out.splitlines()
                   if line.startswith("{") and '"msg":"invocation"' in line]
    kinds = {line["kind"] for line in invocations}
    assert {"http", "authorizer", "s3", "event", "invoke", "schedule"} <= kinds
    for line in invocations:
        assert line["outcome"] in {"ok", "rejected", "error"} and line["duration_ms"] >= 0
        assert line["trace_id"] and (line.get("request_id") or line.get("event_id"))
        if line["kind"] == "http" and "/local/blobs" not in line["handler"]:  # signed URL, no token
            assert line["user_id"] == user
        if line["kind"] in {"s3", "event", "invoke"}:  # the owner of the work, whatever its source
            assert line["user_id"] == user, line
