"""A worker Lambda that stops mid-run (timeout, out of memory, a crashed container) after claiming
its task leaves it ``processing``. Once that claim is older than the worker's timeout plus a
margin, the next worker (Lambda's retry, or the sweeper's re-invocation) takes the claim over in
one conditional write and resumes: AgentCore in the same session, a tool-driven agent again with
tools that do nothing twice. A claim that is not stale is skipped, and of two takers one wins."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY

from chalicelib import settings, wiring
from chalicelib.providers.agentcore import AgentCoreAgent, build_client, session_id_for
from chalicelib.settings import TASK_CLAIM_MARGIN_SECONDS
from chalicelib.tasks.dynamo_store import DynamoTaskStore
from chalicelib.tasks.model import PENDING, PROCESSING, RESUMED, Change, Task, event
from chalicelib.tasks.service import TaskService
from tests.conftest import ROOT
from tests.fakes.agentcore_server import SESSION_HEADER, agentcore_server
from tests.faults.test_lost_invocation import LossyInvoker
from tests.tasks.api_calls import create, get
from tests.vendors.helpers import outbox
from tests.vendors.test_aws_stage import WORKER, aws_stage, ses_messages  # noqa: F401 - the fixture

ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/valro-agent-abc123"
ANSWER = {"response": "Asked two painters for quotes", "vendors": [{"name": "Brush & Co"}],
          "quotes": [{"vendor": "Brush & Co", "amount": 280}], "emails_sent": 2}


class WorkerStopped(BaseException):  # noqa: N818 - not an error the app could catch: the process ends
    """Lambda ends the invocation (timeout, out of memory): no handler in the worker runs after it."""


class StopsOnce:
    """The agent does its work, then the first invocation for ``task_id`` is ended by Lambda
    before the worker records anything; later runs return normally."""

    def __init__(self, inner: Any, task_id: str | None = None) -> None:
        self.inner, self.task_id = inner, task_id
        self.uses_tools = getattr(inner, "uses_tools", False)
        self.resumes_sessions = getattr(inner, "resumes_sessions", False)
        self.calls = 0

    def run(self, task_id: str, description: str, **kwargs: Any) -> Any:
        result = self.inner.run(task_id, description, **kwargs)
        if self.task_id is None or task_id == self.task_id:
            self.calls += 1
            if self.calls == 1:
                raise WorkerStopped
        return result


def dropped(override_adapters: Any) -> None:
    """Every worker hand-off is lost: the test itself delivers the worker's invocations."""
    lossy = LossyInvoker(None)
    lossy.lose = True
    override_adapters(invoker=lossy)


def stale_age() -> float:
    return settings.get_settings().task_worker_timeout_seconds + TASK_CLAIM_MARGIN_SECONDS + 1


def ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def age_claim(task_id: str, seconds: float) -> None:
    """Move the task's claim ``seconds`` into the past, and its creation a second before that
    (instead of waiting out the worker's timeout)."""
    values = {"claimed_at": ago(seconds), "created_at": ago(seconds + 1)}
    if settings.get_settings().task_store == "dynamodb":
        table = boto3.resource("dynamodb", region_name="us-east-1").Table(settings.get_settings().dynamodb_table_name)
        table.update_item(Key={"id": task_id}, UpdateExpression="SET claimed_at = :a, created_at = :c",
                          ExpressionAttributeValues={":a": values["claimed_at"], ":c": values["created_at"]})
        return
    from chalicelib.tasks.sql_store import tasks as tasks_table

    with wiring.engine().begin() as conn:
        conn.execute(tasks_table.update().where(tasks_table.c.id == task_id).values(**values))


def sweep(client) -> dict[str, Any]:  # noqa: ANN001
    event_ = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                             resources=[])
    return client.lambda_.invoke("task_sweeper", event_).payload


def test_a_stopped_worker_is_resumed_in_the_same_agentcore_session(client, user, monkeypatch,  # noqa: ANN001
                                                                   override_adapters) -> None:  # noqa: ANN001
    monkeypatch.setenv("AGENT_RUNTIME_ARN", ARN)
    dropped(override_adapters)
    with agentcore_server(ANSWER) as fake:
        agent = StopsOnce(AgentCoreAgent(ARN, "us-east-1", client=build_client("us-east-1",
                                                                               endpoint_url=fake.server.url)))
        override_adapters(agent=agent)
        task_id = create(client, user)
        with pytest.raises(WorkerStopped):
            client.lambda_.invoke("task_worker", {"task_id": task_id})
        assert fake.runs == [session_id_for(task_id)]
        assert get(client, user, task_id)["status"] == "processing"

        # A second delivery while the claim is fresh: the first worker may be alive; skipped.
        again = client.lambda_.invoke("task_worker", {"task_id": task_id}).payload
        assert again == {"task_id": task_id, "skipped": True, "status": "processing"}
        assert len(fake.requests) == 1

        age_claim(task_id, stale_age())  # Lambda's retry comes after the timeout has passed
        done = client.lambda_.invoke("task_worker", {"task_id": task_id}).payload
        assert done["status"] == "completed"
        assert fake.runs == [session_id_for(task_id)], "the agent ran more than once"
        assert [r.headers[SESSION_HEADER] for r in fake.requests] == [session_id_for(task_id)] * 2

    task = get(client, user, task_id)
    assert task["status"] == "completed" and task["agent_response"] == ANSWER["response"]
    assert task["emails_sent"] == 2
    resumed = [e for e in task["events"] if e["message"].startswith("Resumed after a worker stopped")]
    assert len(resumed) == 1 and resumed[0]["type"] == "warning" and set(resumed[0]) == {"ts", "message", "type"}
    stored = wiring.task_store().get(task_id)
    assert stored.claim == 2 and stored.resumes == 1
    assert [e[RESUMED] for e in stored.events if RESUMED in e] == [1]


def test_the_sweeper_resumes_a_stale_claim_and_no_vendor_is_emailed_twice(client, user, local_env,  # noqa: ANN001
                                                                          override_adapters) -> None:  # noqa: ANN001
    """The offline agent e-mails the sample vendors; its worker stops before recording. The
    sweeper re-invokes once the claim is stale; the resumed run asks the same vendors again,
    which sends nothing: the outbox and ``emails_sent`` count each vendor once."""
    lossy = LossyInvoker(wiring.invoker())
    override_adapters(invoker=lossy)
    lossy.lose = True  # the first delivery is the one this test makes (and stops)
    task_id = create(client, user, "Find me a landscaper in Charlotte for my back yard")
    lossy.lose = False
    agent = StopsOnce(wiring.agent(), task_id)
    override_adapters(agent=agent)
    with pytest.raises(WorkerStopped):
        client.lambda_.invoke("task_worker", {"task_id": task_id})
    sent = len(outbox(local_env))
    assert sent >= 2 and get(client, user, task_id)["status"] == "processing"

    sweep(client)  # the claim is fresh: the worker may be alive, nothing to resume
    assert lossy.calls_for(task_id) == 1

    age_claim(task_id, stale_age())
    assert sweep(client)["resumed"] >= 1 and lossy.calls_for(task_id) == 2
    sweep(client)
    assert lossy.calls_for(task_id) == 2, "one re-invocation per stale claim per quiet period"
    wiring.local_runtime().drain()

    task = get(client, user, task_id)
    assert task["status"] == "completed", task
    assert agent.calls == 2 and len(outbox(local_env)) == sent, "a vendor was e-mailed twice"
    assert task["emails_sent"] == sent and len(task["vendors"]) == sent
    messages = [e["message"] for e in task["events"]]
    assert any(m.startswith("Worker stopped: its claim from") for m in messages)
    assert sum(m.startswith("Resumed after a worker stopped") for m in messages) == 1
    assert messages[-1] == "Agent completed task successfully"


def test_a_worker_that_keeps_stopping_is_given_up_after_the_resume_limit(client, user, monkeypatch,  # noqa: ANN001
                                                                         override_adapters) -> None:  # noqa: ANN001
    monkeypatch.setenv("TASK_RESUME_MAX", "1")
    settings.get_settings.cache_clear()
    dropped(override_adapters)

    class AlwaysStops:
        uses_tools = False
        resumes_sessions = True
        calls = 0

        def run(self, task_id: str, description: str) -> Any:
            AlwaysStops.calls += 1
            raise WorkerStopped

    override_adapters(agent=AlwaysStops())
    task_id = create(client, user)
    for _ in range(2):
        with pytest.raises(WorkerStopped):
            client.lambda_.invoke("task_worker", {"task_id": task_id})
        age_claim(task_id, stale_age())
    ended = client.lambda_.invoke("task_worker", {"task_id": task_id}).payload
    assert ended["status"] == "error" and AlwaysStops.calls == 2
    task = get(client, user, task_id)
    assert task["status"] == "error" and "resumed at most 1 time(s), giving up" in task["error_message"]


def test_an_agent_that_cannot_resume_is_not_run_again_after_its_worker_stopped(client, user,  # noqa: ANN001
                                                                              override_adapters) -> None:  # noqa: ANN001
    dropped(override_adapters)

    class NoResume:
        calls = 0

        def run(self, task_id: str, description: str) -> Any:
            NoResume.calls += 1
            raise WorkerStopped

    override_adapters(agent=NoResume())
    task_id = create(client, user)
    with pytest.raises(WorkerStopped):
        client.lambda_.invoke("task_worker", {"task_id": task_id})
    age_claim(task_id, stale_age())
    assert client.lambda_.invoke("task_worker", {"task_id": task_id}).payload["status"] == "error"
    assert NoResume.calls == 1
    assert "cannot resume, so it is not run again" in get(client, user, task_id)["error_message"]


def test_resume_on_dynamodb_sends_no_second_email(aws_stage, user, override_adapters) -> None:  # noqa: ANN001, F811
    """The AWS stage (moto): tasks in DynamoDB, e-mail through SES; the stopped worker's stale
    claim is taken over by Lambda's retry, the fresh one is skipped, and SES sent each e-mail once."""
    from chalice.test import Client

    from app import app
    from chalicelib.vendors.importer import import_text

    town = f"resumeville {uuid.uuid4().hex[:8]}"
    import_text(wiring.vendor_directory(), "name,trades,areas,email\n"
                f"Resume Pipes,plumbing,{town},pipes-{town[-8:]}@ses.example\n"
                f"Resume Drains,plumbing,{town},drains-{town[-8:]}@ses.example\n")
    aws_stage.add_response("invoke", {"StatusCode": 202}, {"FunctionName": WORKER, "InvocationType": "Event",
                                                           "Payload": ANY})
    with Client(app, stage_name="dev", project_dir=str(ROOT)) as client:
        task_id = create(client, user, f"A leaking pipe, plumber needed in {town}")
        agent = StopsOnce(wiring.agent(), task_id)
        override_adapters(agent=agent)
        with pytest.raises(WorkerStopped):
            client.lambda_.invoke("task_worker", {"task_id": task_id})
        assert len(ses_messages()) == 2
        assert client.lambda_.invoke("task_worker", {"task_id": task_id}).payload["skipped"] is True
        age_claim(task_id, stale_age())
        assert client.lambda_.invoke("task_worker", {"task_id": task_id}).payload["status"] == "completed"
        task = get(client, user, task_id)
    assert task["status"] == "completed" and task["emails_sent"] == 2 and len(ses_messages()) == 2
    assert agent.calls == 2
    stored = wiring.task_store().get(task_id)
    assert stored.claim == 2 and stored.resumes == 1


def test_of_two_concurrent_takeovers_one_wins_in_every_store(store) -> None:  # noqa: ANN001
    """Two workers both find the same stale claim; each tries to take it over. On every store
    one conditional write wins and the other gets nothing; the agent runs once."""
    service = TaskService(store, invoker=None, worker_function="task_worker", deadline_seconds=3600,
                          max_description_chars=4000, worker_timeout_seconds=60)
    task = store.create(Task(id=str(uuid.uuid4()), owner="u", description="paint", events=[event("Task created")]))
    claimed = store.apply(task.id, Change((PENDING,), event("Agent processing started"), PROCESSING, take_claim=True))
    assert claimed.claim == 1 and claimed.claimed_at
    _set_claimed_at(store, task.id, ago(60 + TASK_CLAIM_MARGIN_SECONDS + 5))

    runs: list[str] = []
    both_read = threading.Barrier(2, timeout=10)
    real_stale = service._stale

    def stale_then_wait(found: Task) -> bool:
        stale = real_stale(found)
        both_read.wait()  # both takers have read the stale claim before either writes
        return stale

    service._stale = stale_then_wait
    if isinstance(store, DynamoTaskStore):
        # DynamoDB applies the writes to one item one at a time; moto does not, so this does.
        one_at_a_time, real_apply = threading.Lock(), store.apply

        def serialised(task_id: str, change: Change) -> Task | None:
            with one_at_a_time:
                return real_apply(task_id, change)

        store.apply = serialised

    class Agent:
        resumes_sessions = True

        def run(self, task_id: str, description: str) -> Any:
            from chalicelib.providers.base import AgentResult

            runs.append(threading.current_thread().name)
            return AgentResult(response_text="done", vendors=[], quotes=[], emails_sent=0, provider_used="offline")

    results: dict[str, dict] = {}

    def taker(name: str) -> None:
        results[name] = service.run_worker(task.id, Agent())

    threads = [threading.Thread(target=taker, args=(f"taker-{n}",), name=f"taker-{n}") for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(runs) == 1, f"the agent ran {len(runs)} times"
    assert sorted(r.get("status") for r in results.values()) == ["completed", "processing"]
    assert [r.get("skipped") for r in results.values()].count(True) == 1
    done = store.get(task.id)
    assert done.status == "completed" and done.claim == 2 and done.resumes == 1


def test_a_claim_is_compared_and_set_in_every_store(store) -> None:  # noqa: ANN001
    task = store.create(Task(id=str(uuid.uuid4()), owner="u", description="paint", events=[event("Task created")]))
    first = store.apply(task.id, Change((PENDING,), event("claim"), PROCESSING, take_claim=True))
    assert first.claim == 1 and first.claimed_at
    assert store.apply(task.id, Change((PROCESSING,), event("stale taker"), claim=2)) is None
    second = store.apply(task.id, Change((PROCESSING,), event("take over"), PROCESSING, claim=1, take_claim=True))
    assert second.claim == 2 and second.claimed_at >= first.claimed_at
    assert store.apply(task.id, Change((PROCESSING,), event("late taker"), PROCESSING, claim=1, take_claim=True)) is None
    assert store.get(task.id).claim == 2 and len(store.get(task.id).events) == 3


def _set_claimed_at(store: Any, task_id: str, when: str) -> None:
    if isinstance(store, DynamoTaskStore):
        store._table.update_item(Key={"id": task_id}, UpdateExpression="SET claimed_at = :t",
                                 ExpressionAttributeValues={":t": when})
        return
    from chalicelib.tasks.sql_store import tasks as tasks_table

    with store._engine.begin() as conn:
        conn.execute(tasks_table.update().where(tasks_table.c.id == task_id).values(claimed_at=when))
