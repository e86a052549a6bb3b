"""POST /tasks answers within 5 s whatever the worker invoke does: the hand-off waits at most
TASK_HANDOFF_SECONDS, the task stays pending with the reason, and the sweeper invokes it later."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from chalicelib import bootstrap, settings, wiring
from tests.conftest import ROOT, TEST_JWT_SECRET, auth_headers
from tests.fakes.server import FakeServer


class HangingInvoker:
    """An invoker whose every call blocks until released (a Lambda endpoint that never answers)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def invoke_async(self, function: str, payload: dict) -> None:
        self.calls += 1
        self.release.wait(60)


def sweep(client) -> dict:  # noqa: ANN001
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                            resources=[])
    return client.lambda_.invoke("task_sweeper", event).payload


def test_a_hanging_invoke_still_answers_202_and_the_sweeper_hands_off_later(client, runtime, user, monkeypatch,  # noqa: ANN001
                                                                           override_adapters) -> None:  # noqa: ANN001
    hanging = HangingInvoker()
    real = wiring.invoker()
    client.http.get("/tasks", headers=auth_headers(user))  # warm: what is timed is the hand-off
    override_adapters(invoker=hanging)
    try:
        started = time.perf_counter()
        response = client.http.post("/tasks", headers=auth_headers(user),
                                    body=json.dumps({"description": "Find me a roofer"}))
        elapsed = time.perf_counter() - started
    finally:
        hanging.release.set()
    assert response.status_code == 202 and response.json_body["status"] == "pending"
    handoff = settings.get_settings().task_handoff_seconds
    assert handoff <= elapsed < 5.0, f"POST /tasks took {elapsed:.2f} s"
    task_id = response.json_body["id"]
    task = client.http.get(f"/tasks/{task_id}", headers=auth_headers(user)).json_body
    assert task["status"] == "pending"
    assert f"did not answer within {handoff:g} s" in task["events"][-1]["message"] and task["events"][-1]["type"] == "warning"

    override_adapters(invoker=real)
    monkeypatch.setenv("TASK_REINVOKE_AFTER_SECONDS", "0")
    settings.get_settings.cache_clear()
    time.sleep(0.01)
    assert sweep(client)["reinvoked"] >= 1
    runtime.drain()
    assert client.http.get(f"/tasks/{task_id}", headers=auth_headers(user)).json_body["status"] == "completed"


@pytest.fixture()
def aws_stage(monkeypatch: pytest.MonkeyPatch, aws: None, tmp_path: Path):  # noqa: ANN201
    from tests.tasks.conftest import make_table

    monkeypatch.setenv("STAGE", "dev")
    monkeypatch.setenv("PROVIDERS", "offline")
    monkeypatch.setenv("TASK_STORE", "dynamodb")
    monkeypatch.setenv("DYNAMODB_TABLE_NAME", "valro-tasks-dev")
    monkeypatch.setenv("JWT_SECRET", TEST_JWT_SECRET)
    monkeypatch.setenv("DATABASE_URL", "postgresql://unused@127.0.0.1:1/unused")
    settings.reset()
    yield make_table("valro-tasks-dev")
    settings.reset()


def test_a_lambda_endpoint_that_never_answers_is_cut_at_the_budget(aws_stage, user,  # noqa: ANN001
                                                                    override_adapters) -> None:  # noqa: ANN001
    """The real adapter (as wired for AWS) against a loopback Lambda endpoint that holds every
    Invoke for 20 s: 202 within the budget, the task stored pending with the reason."""
    from chalice.test import Client

    from app import app
    from chalicelib.invoke.invoker import AdapterInvoker
    from chalicelib.tracing import TracingInvoker

    table = aws_stage
    with FakeServer(lambda path, headers, body: (202, {}, 20.0)) as lam:
        # As wiring builds it for AWS (its timeouts and retries), pointed at the loopback endpoint.
        invoker = TracingInvoker(AdapterInvoker("us-east-1", endpoint_url=lam.url, **bootstrap.INVOKE_OPTIONS))
        override_adapters(invoker=invoker)
        with Client(app, stage_name="dev", project_dir=str(ROOT)) as client:
            client.http.get("/tasks", headers=auth_headers(user))  # warm: table, token, store
            started = time.perf_counter()
            response = client.http.post("/tasks", headers=auth_headers(user),
                                        body=json.dumps({"description": "Find me a glazier"}))
            elapsed = time.perf_counter() - started
        assert lam.requests, "the invoke reached the endpoint"
    assert response.status_code == 202, response.body
    assert elapsed < 5.0, f"POST /tasks took {elapsed:.2f} s"
    (item,) = table.scan()["Items"]
    assert item["status"] == "pending" and "did not answer within" in item["events"][-1]["message"]
