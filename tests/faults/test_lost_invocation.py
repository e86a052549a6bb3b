"""An async invocation of the task worker that is lost (accepted by Lambda, never run) or that
cannot be made at all: the task is kept as `pending`, the scheduled sweeper invokes the worker
again once the task has been quiet for TASK_REINVOKE_AFTER_SECONDS, at most TASK_REINVOKE_MAX
times, and then marks it error with the reason. The agent never runs a task twice."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest

from chalicelib import settings, wiring
from chalicelib.tasks.model import MSG_STARTED
from tests.conftest import auth_headers


class LossyInvoker:
    """The edge: Lambda's async Invoke, which may accept an event and then lose it
    (``lose``) or refuse the call (``down``)."""

    def __init__(self, real: Any) -> None:
        self.real, self.lose, self.down = real, False, False
        self.calls: list[Mapping[str, Any]] = []

    def calls_for(self, task_id: str) -> int:
        """Invocations of this task (the session database may hold other tests' tasks, which
        the sweeper handles too)."""
        return sum(1 for call in self.calls if call.get("task_id") == task_id)

    def invoke_async(self, function: str, payload: Mapping[str, Any]) -> None:
        self.calls.append(payload)
        if self.down:
            raise ConnectionError("Could not connect to the endpoint URL: lambda.us-east-1.amazonaws.com")
        if not self.lose:
            self.real.invoke_async(function, payload)


@pytest.fixture()
def invoker(local_env, override_adapters, monkeypatch: pytest.MonkeyPatch) -> LossyInvoker:  # noqa: ANN001
    lossy = LossyInvoker(wiring.invoker())
    override_adapters(invoker=lossy)
    monkeypatch.setenv("TASK_REINVOKE_AFTER_SECONDS", "0")  # quiet for 0 s is enough here
    settings.get_settings.cache_clear()
    return lossy


def create(client, user: str) -> dict[str, Any]:  # noqa: ANN001
    response = client.http.post("/tasks", headers=auth_headers(user), body='{"description": "find a plumber"}')
    assert response.status_code == 202, response.body
    return response.json_body


def read(client, user: str, task_id: str) -> dict[str, Any]:  # noqa: ANN001
    return client.http.get(f"/tasks/{task_id}", headers=auth_headers(user)).json_body


def sweep(client) -> dict[str, Any]:  # noqa: ANN001
    time.sleep(0.01)  # the task's last change is now strictly in the past
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                            detail={}, resources=[])
    return client.lambda_.invoke("task_sweeper", event).payload


def agent_runs(task: dict[str, Any]) -> int:
    return sum(1 for e in task["events"] if e["message"] == MSG_STARTED)


def test_a_lost_invocation_is_sent_again_and_completes(client, user, invoker) -> None:  # noqa: ANN001
    invoker.lose = True
    task_id = create(client, user)["id"]
    wiring.local_runtime().drain()
    assert read(client, user, task_id)["status"] == "pending"  # the invocation went nowhere

    invoker.lose = False
    assert sweep(client)["reinvoked"] >= 1 and invoker.calls_for(task_id) == 2
    wiring.local_runtime().drain()
    task = read(client, user, task_id)
    assert task["status"] == "completed" and task["provider_used"] == "offline", task
    assert any(e["type"] == "warning" and e["message"].endswith("invoked again (1 of 2)") for e in task["events"])
    assert agent_runs(task) == 1
    sweep(client)
    assert invoker.calls_for(task_id) == 2  # a finished task is left alone


def test_a_failed_hand_off_still_answers_202_and_the_sweeper_starts_it(client, user, invoker) -> None:  # noqa: ANN001
    invoker.down = True
    task = read(client, user, create(client, user)["id"])
    assert task["status"] == "pending"
    assert "Could not start the worker (ConnectionError" in task["events"][-1]["message"]
    assert task["events"][-1]["type"] == "warning"

    invoker.down = False
    assert sweep(client)["reinvoked"] >= 1 and invoker.calls_for(task["id"]) == 2
    wiring.local_runtime().drain()
    done = read(client, user, task["id"])
    assert done["status"] == "completed" and agent_runs(done) == 1


def test_invocations_that_keep_getting_lost_end_in_error_with_the_reason(client, user, invoker) -> None:  # noqa: ANN001
    invoker.lose = True
    task_id = create(client, user)["id"]
    for invocations in (2, 3):
        sweep(client)
        assert invoker.calls_for(task_id) == invocations
    assert sweep(client)["expired"] >= 1
    task = read(client, user, task_id)
    assert task["status"] == "error" and task["error_message"].startswith("No worker ran the task after 3 invocations")
    sweep(client)
    assert invoker.calls_for(task_id) == 3 and agent_runs(task) == 0


def test_a_recently_touched_task_is_not_sent_again(client, user, invoker, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("TASK_REINVOKE_AFTER_SECONDS", "3600")
    settings.get_settings.cache_clear()
    invoker.lose = True
    task_id = create(client, user)["id"]
    sweep(client)
    assert read(client, user, task_id)["status"] == "pending" and invoker.calls_for(task_id) == 1
