"""The tasks API end to end through chalice.test and the local runtime (seed 002)."""

from __future__ import annotations

import io
import json
import time

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from chalicelib import wiring
from chalicelib.providers.base import AgentResult, ProviderUnavailable
from tests.conftest import auth_headers

SEED_FLOW = ["Task created", "Worker Lambda invoked - processing started", "Agent processing started",
             "Agent completed task successfully"]


def create(client, user: str, description: object = "Find me a landscaper in Charlotte under $300",  # noqa: ANN001
           **headers: str):
    return client.http.post("/tasks", headers=auth_headers(user, **headers),
                            body=json.dumps({"description": description}))


def get(client, user: str, task_id: str):  # noqa: ANN001
    return client.http.get(f"/tasks/{task_id}", headers=auth_headers(user))


class CountingAgent:
    def __init__(self, delay: float = 0.0, fail: Exception | None = None) -> None:
        self.calls: list[str] = []
        self.delay, self.fail = delay, fail

    def run(self, task_id: str, description: str) -> AgentResult:
        self.calls.append(task_id)
        time.sleep(self.delay)
        if self.fail:
            raise self.fail
        return AgentResult("done: " + description, [{"name": "V"}], [{"vendor": "V", "amount": 100}], 1, "fake")


@pytest.fixture()
def agent(override_adapters, local_env) -> CountingAgent:  # noqa: ANN001
    counting = CountingAgent()
    override_adapters(agent=counting)
    return counting


def test_whole_flow_with_the_offline_agent(client, runtime, user) -> None:  # noqa: ANN001
    response = create(client, user)
    assert response.status_code == 202
    body = response.json_body
    assert body["status"] == "pending" and body["message"] == "Task created and processing started"
    pending = get(client, user, body["id"]).json_body
    assert pending["status"] == "pending" and [e["message"] for e in pending["events"]] == SEED_FLOW[:2]

    runtime.drain()
    task = get(client, user, body["id"]).json_body
    assert task["status"] == "completed"
    messages = [e["message"] for e in task["events"]]
    assert [m for m in messages if m in SEED_FLOW] == SEED_FLOW and messages[-1] == SEED_FLOW[-1]
    assert messages[3].startswith("find_vendors(trade='landscaping', area='charlotte'): 3 vendor(s)")
    assert sum(m.startswith("Quote request e-mailed to ") for m in messages) == 3
    assert task["provider_used"] == "offline" and task["agent_response"].startswith("[offline agent]")
    # Counted from what the tools did: three sample landscapers in Charlotte e-mailed, no quote yet.
    assert task["emails_sent"] == 3 and len(task["vendors"]) == 3 and task["quotes"] == []
    assert set(task) >= {"id", "description", "status", "agent_response", "vendors", "quotes", "emails_sent",
                         "events", "error_message", "created_at", "updated_at"}


def test_whole_flow_with_agentcore(client, runtime, user, monkeypatch, override_adapters) -> None:  # noqa: ANN001
    from chalicelib import settings
    from chalicelib.providers import get_agent
    from chalicelib.providers.agentcore import AgentCoreAgent, session_id_for

    arn = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/valro-abc"
    monkeypatch.setenv("AGENT_RUNTIME_ARN", arn)
    settings.reset()
    wiring.set_app(__import__("app").app)
    assert isinstance(get_agent(settings.get_settings(), None), AgentCoreAgent)

    task_id = create(client, user, "Find me a painter").json_body["id"]
    client_ = boto3.client("bedrock-agentcore", region_name="us-east-1")
    stubber = Stubber(client_)
    body = json.dumps({"response": "Two painters quoted", "vendors": [{"name": "P"}],
                       "quotes": [{"vendor": "P", "amount": 500}], "emails_sent": 2}).encode()
    stubber.add_response(
        "invoke_agent_runtime",
        {"contentType": "application/json", "statusCode": 200, "response": StreamingBody(io.BytesIO(body), len(body))},
        {"agentRuntimeArn": arn, "runtimeSessionId": session_id_for(task_id), "contentType": "application/json",
         "accept": "application/json",
         "payload": json.dumps({"prompt": "Find me a painter", "task_id": task_id}).encode()},
    )
    stubber.activate()
    override_adapters(agent=AgentCoreAgent(arn, "us-east-1", client=client_))
    wiring.local_runtime().drain()
    stubber.assert_no_pending_responses()
    task = get(client, user, task_id).json_body
    assert task["status"] == "completed" and task["provider_used"] == "agentcore"
    assert task["agent_response"] == "Two painters quoted"
    # The runtime's own report, parsed into our shapes (it e-mails through its own tools).
    assert session_id_for(task_id) == task_id
    assert task["emails_sent"] == 2 and task["vendors"] == [{"name": "P"}]
    assert task["quotes"] == [{"vendor": "P", "price": 500, "currency": "USD", "note": ""}]


def test_202_comes_back_fast_while_the_agent_is_slow(client, runtime, user, agent) -> None:  # noqa: ANN001
    agent.delay = 2.0
    create(client, user)  # warm the path (first request builds engines and stores)
    started = time.perf_counter()
    response = create(client, user, "Find me a plumber")
    elapsed = time.perf_counter() - started
    assert response.status_code == 202
    assert elapsed < 0.1, f"POST /tasks took {elapsed * 1000:.0f} ms"
    started = time.perf_counter()
    runtime.drain()
    assert time.perf_counter() - started >= 2.0  # the agent ran later, in the worker


def test_other_users_get_404_and_never_see_the_task(client, runtime, user) -> None:  # noqa: ANN001
    task_id = create(client, user).json_body["id"]
    assert get(client, "intruder", task_id).status_code == 404
    listing = client.http.get("/tasks", headers=auth_headers("intruder")).json_body
    assert task_id not in {t["id"] for t in listing["tasks"]}
    assert task_id in {t["id"] for t in client.http.get("/tasks", headers=auth_headers(user)).json_body["tasks"]}
    for path in ("/tasks", f"/tasks/{task_id}"):
        assert client.http.get(path).status_code == 401


@pytest.mark.parametrize(
    ("description", "status"),
    [(None, 400), ("", 400), ("   ", 400), (42, 400), (["a"], 400), ("x" * 4001, 413)],
)
def test_bad_descriptions(client, user, description, status) -> None:  # noqa: ANN001
    body = {} if description is None else {"description": description}
    response = client.http.post("/tasks", headers=auth_headers(user), body=json.dumps(body))
    assert response.status_code == status
    assert response.json_body["error"]["field"] == "description"
    assert response.json_body["error"]["message"]


def test_malformed_json_and_wrong_content_type(client, user) -> None:  # noqa: ANN001
    bad = client.http.post("/tasks", headers=auth_headers(user), body=b'{"description": ')
    assert bad.status_code == 400 and "malformed JSON" in bad.json_body["error"]["message"]
    wrong = client.http.post("/tasks", headers=auth_headers(user, **{"Content-Type": "text/plain"}), body=b"x")
    assert wrong.status_code == 415


def test_pagination_and_bad_parameters(client, user) -> None:  # noqa: ANN001
    ids = [create(client, user, f"task number {i}").json_body["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        path = "/tasks?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.http.get(path, headers=auth_headers(user)).json_body
        seen.extend(t["id"] for t in page["tasks"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    for query, field in (("limit=0", "limit"), ("limit=abc", "limit"), ("limit=101", "limit"),
                         ("cursor=garbage", "cursor")):
        response = client.http.get(f"/tasks?{query}", headers=auth_headers(user))
        assert response.status_code == 400 and response.json_body["error"]["field"] == field


def test_idempotency_key(client, runtime, user, agent) -> None:  # noqa: ANN001
    first = create(client, user, "Find a roofer", **{"Idempotency-Key": "k-1"}).json_body
    again = create(client, user, "Find a roofer", **{"Idempotency-Key": "k-1"})
    assert again.status_code == 202 and again.json_body["id"] == first["id"]
    conflict = create(client, user, "Something else", **{"Idempotency-Key": "k-1"})
    assert conflict.status_code == 409
    other = create(client, "other-user", "Find a roofer", **{"Idempotency-Key": "k-1"}).json_body
    assert other["id"] != first["id"]
    runtime.drain()
    assert agent.calls.count(first["id"]) == 1


def test_duplicate_worker_delivery_runs_the_agent_once(client, user, agent) -> None:  # noqa: ANN001
    task_id = create(client, user).json_body["id"]
    first = client.lambda_.invoke("task_worker", {"task_id": task_id}).payload
    second = client.lambda_.invoke("task_worker", {"task_id": task_id}).payload
    assert first["status"] == "completed" and second["skipped"] is True
    assert agent.calls == [task_id]


def test_agent_outage_requeues_and_the_invoke_is_retried(client, runtime, user, agent) -> None:  # noqa: ANN001
    agent.fail = ProviderUnavailable("Claude unavailable: RateLimitError")
    task_id = create(client, user).json_body["id"]
    runtime.drain()
    task = get(client, user, task_id).json_body
    assert task["status"] == "pending"
    assert any(e["type"] == "warning" and "will retry" in e["message"] for e in task["events"])
    assert len(agent.calls) >= 2  # the runtime retried the async invocation as Lambda would
    agent.fail = None
    from localdev.cli import queue_path  # noqa: F401 - the queue keeps the failed delivery
    failed = runtime.queue.failed_deliveries()
    assert failed and failed[-1].target == "task_worker"
    runtime.queue.retry(failed[-1].id)
    runtime.drain()
    assert get(client, user, task_id).json_body["status"] == "completed"


def test_agent_failure_marks_error_with_message(client, runtime, user, agent) -> None:  # noqa: ANN001
    agent.fail = ValueError("vendor directory returned garbage")
    task_id = create(client, user).json_body["id"]
    runtime.drain()
    task = get(client, user, task_id).json_body
    assert task["status"] == "error" and "vendor directory returned garbage" in task["error_message"]
    assert task["events"][-1]["type"] == "error"


def age_task(task_id: str, seconds: float) -> None:
    """Move a task's creation ``seconds`` into the past (instead of sleeping past its deadline)."""
    from datetime import UTC, datetime, timedelta

    from chalicelib import wiring
    from chalicelib.tasks.sql_store import tasks as tasks_table

    older = (datetime.now(UTC) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with wiring.engine().begin() as conn:
        conn.execute(tasks_table.update().where(tasks_table.c.id == task_id).values(created_at=older))


def test_lost_invocation_is_swept_to_error(client, user) -> None:  # noqa: ANN001
    from chalicelib import settings

    task_id = create(client, user).json_body["id"]  # queued but never delivered: "lost"
    deadline = settings.get_settings().task_deadline_seconds
    age_task(task_id, deadline + 1)
    result = client.lambda_.invoke("task_sweeper", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])).payload
    assert result["expired"] >= 1
    task = get(client, user, task_id).json_body
    assert task["status"] == "error" and f"did not finish within {deadline} s" in task["error_message"]


def test_overdue_task_is_expired_lazily_on_read(client, user) -> None:  # noqa: ANN001
    from chalicelib import settings

    task_id = create(client, user).json_body["id"]
    age_task(task_id, settings.get_settings().task_deadline_seconds + 1)
    assert get(client, user, task_id).json_body["status"] == "error"


def test_cors_echoes_only_allowed_origins(client, user, monkeypatch) -> None:  # noqa: ANN001
    from chalicelib import settings

    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "https://app.example.com,https://admin.example.com")
    settings.get_settings.cache_clear()
    ok = client.http.get("/tasks", headers=auth_headers(user, Origin="https://admin.example.com"))
    assert ok.headers["Access-Control-Allow-Origin"] == "https://admin.example.com"
    assert "Origin" in ok.headers["Vary"]
    evil = client.http.get("/tasks", headers=auth_headers(user, Origin="https://evil.example"))
    assert "Access-Control-Allow-Origin" not in evil.headers
    preflight = client.http.options("/tasks", headers={"Origin": "https://app.example.com",
                                                      "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]
    denied = client.http.options("/tasks/abc", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in denied.headers


def test_no_wildcard_unless_configured(client, user) -> None:  # noqa: ANN001
    response = client.http.get("/tasks", headers=auth_headers(user, Origin="https://anything.example"))
    assert "Access-Control-Allow-Origin" not in response.headers
