"""Every task store keeps the same promises: owner enforced, newest first, conditional
transitions, no transition out of a final state, no event lost to a concurrent writer."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from chalicelib.tasks.model import (
    ACTIVE,
    COMPLETED,
    ERROR,
    PENDING,
    PROCESSING,
    TRANSITIONS,
    Change,
    Task,
    TaskStatus,
    event,
)
from chalicelib.tasks.store import BadCursor, TaskExists


def new(owner: str, description: str = "Find a painter") -> Task:
    return Task(id=str(uuid.uuid4()), owner=owner, description=description, events=[event("Task created")])


def test_owner_is_enforced_on_reads(store) -> None:  # noqa: ANN001
    task = store.create(new("alice"))
    assert store.get(task.id, owner="alice").description == "Find a painter"
    assert store.get(task.id, owner="bob") is None
    assert store.get("no-such-id", owner="alice") is None


def test_create_same_id_raises_task_exists(store) -> None:  # noqa: ANN001
    task = store.create(new("alice"))
    with pytest.raises(TaskExists) as info:
        store.create(Task(id=task.id, owner="alice", description="again", events=[]))
    assert info.value.task.description == "Find a painter"


def test_list_is_newest_first_and_paginates(store) -> None:  # noqa: ANN001
    owner = f"u-{uuid.uuid4().hex[:8]}"
    ids = []
    for i in range(5):
        ids.append(store.create(new(owner, f"task {i}")).id)
        time.sleep(0.002)
    store.create(new("someone-else"))
    seen, cursor = [], None
    while True:
        page = store.list(owner, 2, cursor)
        seen.extend(t.id for t in page.tasks)
        cursor = page.cursor
        if not cursor:
            break
    assert seen == list(reversed(ids))
    with pytest.raises(BadCursor):
        store.list(owner, 2, "not-a-cursor")


def test_transitions_are_conditional_and_final_states_stay_final(store) -> None:  # noqa: ANN001
    task = store.create(new("alice"))
    claimed = store.apply(task.id, Change((PENDING,), event("Agent processing started"), PROCESSING))
    assert claimed.status == PROCESSING and len(claimed.events) == 2
    assert store.apply(task.id, Change((PENDING,), event("second claim"), PROCESSING)) is None
    done = store.apply(task.id, Change((PROCESSING,), event("done", "success"), COMPLETED,
                                       {"agent_response": "ok", "vendors": [{"name": "A"}],
                                        "quotes": [{"vendor": "A", "amount": 199.5}], "emails_sent": 2}))
    assert done.status == COMPLETED and done.quotes[0]["amount"] == 199.5 and done.emails_sent == 2
    assert store.apply(task.id, Change(ACTIVE, event("late error", "error"), ERROR)) is None
    assert store.get(task.id).status == COMPLETED


def test_a_change_may_only_make_a_move_the_transitions_allow() -> None:
    assert set(TRANSITIONS) == set(TaskStatus) and not TRANSITIONS[TaskStatus.COMPLETED]
    with pytest.raises(ValueError, match="from completed to processing"):
        Change((COMPLETED,), event("reopen"), PROCESSING)
    with pytest.raises(ValueError, match="from pending to completed"):  # a task is claimed before it completes
        Change(ACTIVE, event("done"), COMPLETED)
    assert Change((ERROR,), event("late outcome"), COMPLETED).status == COMPLETED
    assert Change((COMPLETED,), event("note")).status is None  # a timeline entry alone moves nothing


def test_concurrent_writers_never_lose_events(store) -> None:  # noqa: ANN001
    from chalicelib.tasks.dynamo_store import DynamoTaskStore

    if isinstance(store, DynamoTaskStore):
        pytest.skip("moto does not serialise concurrent UpdateItem calls; on DynamoDB each transition is one "
                    "atomic UpdateItem with list_append (see test_dynamo_transition_is_one_atomic_update)")
    task = store.create(new("alice"))
    barrier = threading.Barrier(4)

    def writer(n: int) -> None:
        barrier.wait()
        for i in range(5):
            assert store.apply(task.id, Change(ACTIVE, event(f"w{n}-{i}"))) is not None

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    messages = [e["message"] for e in store.get(task.id).events]
    assert len(messages) == 1 + 20 and len(set(messages)) == 21


def test_overdue_finds_only_active_tasks_before_the_cutoff(store) -> None:  # noqa: ANN001
    active = store.create(new("alice"))
    finished = store.create(new("alice"))
    store.apply(finished.id, Change(ACTIVE, event("x", "error"), ERROR))
    time.sleep(0.002)
    from chalicelib.timeutil import now_iso

    overdue = {t.id for t in store.overdue(now_iso())}
    assert active.id in overdue and finished.id not in overdue


def test_dynamo_transition_is_one_atomic_update(aws) -> None:  # noqa: ANN001
    """Each DynamoDB transition is a single conditional UpdateItem appending with list_append."""
    from chalicelib.tasks.dynamo_store import DynamoTaskStore
    from tests.tasks.conftest import make_table

    table = make_table("contract-shape")
    calls = []
    original = table.update_item

    def spy(**kwargs):  # noqa: ANN003, ANN202
        calls.append(kwargs)
        return original(**kwargs)

    table.update_item = spy
    store = DynamoTaskStore(table)
    task = store.create(new("alice"))
    store.apply(task.id, Change((PENDING,), event("claim"), PROCESSING))
    (call,) = calls
    assert "list_append(#e, :ev)" in call["UpdateExpression"]
    assert "#s IN (:x0)" in call["ConditionExpression"]
