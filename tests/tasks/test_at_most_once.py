"""A task's work is never lost and never repeated: the agent runs at most once per task (no SDK
retry of an AgentCore call, a retried invocation joins the same session), a completion after the
deadline is still recorded, and the deadline is never shorter than the worker can run."""

from __future__ import annotations

import pytest

from chalicelib import settings, wiring
from chalicelib.providers import AgentInterrupted, ProviderUnavailable
from chalicelib.providers.agentcore import AgentCoreAgent, build_client, session_id_for
from chalicelib.providers.base import AgentResult
from tests.fakes.agentcore_server import SESSION_HEADER, agentcore_server
from tests.tasks.api_calls import create, get

ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/valro-agent-abc123"
ANSWER = {"response": "Asked two painters for quotes", "vendors": [{"name": "Brush & Co"}],
          "quotes": [{"vendor": "Brush & Co", "amount": 280}], "emails_sent": 2}


def scheduled(client) -> dict:  # noqa: ANN001
    return client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                           resources=[])


def test_agent_that_works_then_times_out_runs_once_and_the_task_completes(client, runtime, user, monkeypatch,  # noqa: ANN001
                                                                          override_adapters) -> None:  # noqa: ANN001
    """The runtime does the work, then the answer is late (read timeout). botocore does not
    re-send the call; the worker puts the task back to pending and fails the delivery; the
    retried delivery calls the same session, which answers with the first run's outcome."""
    monkeypatch.setenv("AGENT_RUNTIME_ARN", ARN)
    with agentcore_server(ANSWER, stall_first=2.5) as fake:
        agent = AgentCoreAgent(ARN, "us-east-1", client=build_client("us-east-1", read_timeout=1,
                                                                     endpoint_url=fake.server.url))
        override_adapters(agent=agent)
        task_id = create(client, user)
        runtime.drain(timeout=20)
        task = get(client, user, task_id)
        assert fake.runs == [session_id_for(task_id)], "the agent ran more than once"
        assert len(fake.requests) == 2, "one call timed out, one resumed it: no SDK-level retry"
        assert {r.headers[SESSION_HEADER] for r in fake.requests} == {session_id_for(task_id)}
    assert task["status"] == "completed", task
    assert task["agent_response"] == ANSWER["response"] and task["emails_sent"] == 2
    messages = [e["message"] for e in task["events"]]
    assert any("resumes the same agent session" in m for m in messages)
    assert messages.count("Agent processing started") == 2 and messages[-1] == "Agent completed task successfully"


def test_agentcore_client_makes_one_attempt_per_call() -> None:
    client = build_client("us-east-1")
    assert client.meta.config.retries["total_max_attempts"] == 1


def test_interruptions_and_refusals_are_told_apart() -> None:
    from botocore.stub import Stubber

    client = build_client("us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error("invoke_agent_runtime", "ThrottlingException", http_status_code=429)
    stubber.add_client_error("invoke_agent_runtime", "InternalServerException", http_status_code=500)
    stubber.activate()
    agent = AgentCoreAgent(ARN, "us-east-1", client=client)
    with pytest.raises(ProviderUnavailable) as refused:
        agent.run("t", "x")
    assert not isinstance(refused.value, AgentInterrupted)  # refused before it ran: retry freely
    with pytest.raises(AgentInterrupted):
        agent.run("t", "x")


class InterruptedOnce:
    """An agent that cannot resume a session and is cut after it may have acted."""

    def __init__(self) -> None:
        self.calls = 0

    def run(self, task_id: str, description: str) -> AgentResult:
        self.calls += 1
        raise AgentInterrupted("connection dropped mid-answer")


def test_an_agent_that_cannot_resume_is_never_run_twice(client, runtime, user, override_adapters) -> None:  # noqa: ANN001
    agent = InterruptedOnce()
    override_adapters(agent=agent)
    task_id = create(client, user)
    runtime.drain()
    task = get(client, user, task_id)
    assert agent.calls == 1
    assert task["status"] == "error" and "not run again" in task["error_message"]


def test_a_completion_after_the_deadline_is_recorded_with_a_warning(client, user, override_adapters) -> None:  # noqa: ANN001
    """The deadline sweep marks the task error while the agent is still running; the agent's
    answer, when it comes, is recorded anyway (completed) and the timeline says it was late."""
    from tests.tasks.test_tasks_api import age_task

    class SlowPastTheDeadline:
        def run(self, task_id: str, description: str) -> AgentResult:
            age_task(task_id, settings.get_settings().task_deadline_seconds + 5)
            swept = client.lambda_.invoke("task_sweeper", scheduled(client)).payload
            assert swept["expired"] >= 1
            assert wiring.task_store().get(task_id).status == "error"
            return AgentResult(response_text="Booked a painter", vendors=[{"name": "P"}], quotes=[],
                               emails_sent=1, provider_used="offline")

    override_adapters(agent=SlowPastTheDeadline())
    task_id = create(client, user)
    result = client.lambda_.invoke("task_worker", {"task_id": task_id}).payload
    assert result["status"] == "completed"
    task = get(client, user, task_id)
    assert task["status"] == "completed" and task["agent_response"] == "Booked a painter"
    assert task["error_message"] is None and task["emails_sent"] == 1
    kinds = [(e["type"], e["message"]) for e in task["events"]]
    assert any(k == "error" and "did not finish within" in m for k, m in kinds)
    assert kinds[-1][0] == "warning" and "completed after the task's" in kinds[-1][1]


def test_deadline_is_derived_and_a_shorter_one_fails_loudly(monkeypatch) -> None:  # noqa: ANN001
    for name in ("TASK_DEADLINE_SECONDS", "TASK_WORKER_TIMEOUT_SECONDS", "TASK_REINVOKE_AFTER_SECONDS",
                 "TASK_REINVOKE_MAX", "TASK_RESUME_MAX"):
        monkeypatch.delenv(name, raising=False)
    # 2 re-invocations x (120 s quiet + a 300 s sweep) + 1 resume x (a 600 s worker that stopped
    # + 30 s claim margin + a 300 s sweep) + a 600 s worker + 60 s slack
    assert settings.load_settings().task_deadline_seconds == 2430
    monkeypatch.setenv("TASK_WORKER_TIMEOUT_SECONDS", "300")
    assert settings.load_settings().task_deadline_seconds == 840 + 630 + 360
    monkeypatch.setenv("TASK_RESUME_MAX", "0")
    assert settings.load_settings().task_deadline_seconds == 1200
    monkeypatch.setenv("TASK_RESUME_MAX", "1")
    monkeypatch.setenv("TASK_DEADLINE_SECONDS", "2000")
    assert settings.load_settings().task_deadline_seconds == 2000
    monkeypatch.setenv("TASK_DEADLINE_SECONDS", "1200")
    with pytest.raises(ValueError, match="TASK_DEADLINE_SECONDS=1200 is shorter than the worker can run: at least 1830"):
        settings.load_settings()


def test_a_late_completion_is_recorded_in_every_store(store) -> None:  # noqa: ANN001
    """The same late completion on PostgreSQL, MariaDB and DynamoDB: error -> completed, the
    error message cleared, the deadline's error and the warning both on the timeline."""
    import uuid
    from datetime import UTC, datetime, timedelta

    from chalicelib.tasks.model import Task, event
    from chalicelib.tasks.service import TaskService

    service = TaskService(store, invoker=None, worker_function="task_worker", deadline_seconds=1500,
                          max_description_chars=4000, reinvoke_max=0)
    old = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    task = Task(id=str(uuid.uuid4()), owner="u", description="paint", events=[event("Task created")],
                created_at=old, updated_at=old)
    store.create(task)

    class SweptWhileRunning:
        def run(self, task_id: str, description: str) -> AgentResult:
            assert service.sweep()["expired"] >= 1 and store.get(task_id).status == "error"
            return AgentResult(response_text="done", vendors=[], quotes=[], emails_sent=0, provider_used="offline")

    assert service.run_worker(task.id, SweptWhileRunning())["status"] == "completed"
    done = store.get(task.id)
    assert done.status == "completed" and done.error_message is None and done.agent_response == "done"
    assert [e["type"] for e in done.events][-2:] == ["error", "warning"]
