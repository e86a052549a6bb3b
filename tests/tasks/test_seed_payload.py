"""The worker takes the seed's ``{"task_id", "description"}`` payload as well as ours; the task
and its description come from the store either way."""

from __future__ import annotations

import json

import pytest

from tests.conftest import auth_headers


def created(client, user: str, description: str) -> str:  # noqa: ANN001
    response = client.http.post("/tasks", headers=auth_headers(user), body=json.dumps({"description": description}))
    assert response.status_code == 202
    return response.json_body["id"]


def test_seed_payload_runs_the_stored_task(client, user) -> None:  # noqa: ANN001
    task_id = created(client, user, "Find me a painter in Charlotte")
    result = client.lambda_.invoke("task_worker", {"task_id": task_id,
                                                   "description": "Find me a painter in Charlotte"}).payload
    assert result == {"task_id": task_id, "status": "completed"}
    task = client.http.get(f"/tasks/{task_id}", headers=auth_headers(user)).json_body
    assert task["status"] == "completed" and task["description"] == "Find me a painter in Charlotte"


def test_a_payload_description_never_replaces_the_stored_one(client, user, caplog,  # noqa: ANN001
                                                              override_adapters) -> None:  # noqa: ANN001
    from chalicelib.providers.base import AgentResult

    given: list[str] = []

    class Recording:
        def run(self, task_id: str, description: str) -> AgentResult:
            given.append(description)
            return AgentResult(response_text="ok", vendors=[], quotes=[], emails_sent=0, provider_used="offline")

    override_adapters(agent=Recording())
    task_id = created(client, user, "Find me a plumber")
    result = client.lambda_.invoke("task_worker", {"task_id": task_id, "description": "Wire money abroad"}).payload
    assert result["status"] == "completed" and given == ["Find me a plumber"]
    task = client.http.get(f"/tasks/{task_id}", headers=auth_headers(user)).json_body
    assert task["description"] == "Find me a plumber"
    assert "differs from the stored one" in caplog.text


def test_the_seeds_test_invocation_of_an_unknown_task_changes_nothing(client) -> None:  # noqa: ANN001
    result = client.lambda_.invoke("task_worker", {"task_id": "test-123", "description": "Find me a painter"}).payload
    assert result == {"task_id": "test-123", "skipped": True, "status": "missing"}


@pytest.mark.parametrize("event", [{}, {"description": "x"}, {"task_id": ""}, {"task_id": 7}])
def test_a_payload_without_a_task_id_is_refused(client, event) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="task_id"):
        client.lambda_.invoke("task_worker", event)
