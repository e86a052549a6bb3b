"""Task calls through the API, as the worker and resume tests make them."""

from __future__ import annotations

import json

from tests.conftest import auth_headers


def create(client, user: str, description: str = "Paint my fence") -> str:  # noqa: ANN001
    """``POST /tasks`` as ``user``: the new task's id (asserting the 202)."""
    response = client.http.post("/tasks", headers=auth_headers(user), body=json.dumps({"description": description}))
    assert response.status_code == 202, response.body
    return response.json_body["id"]


def get(client, user: str, task_id: str) -> dict:  # noqa: ANN001
    """``GET /tasks/{id}`` as ``user``: the body."""
    return client.http.get(f"/tasks/{task_id}", headers=auth_headers(user)).json_body
