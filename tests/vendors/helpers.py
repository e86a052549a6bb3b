"""Shared steps of the vendor tests: run a task through POST /tasks and the worker, read the
local outbox, take the quote link's path out of an e-mail."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from localdev.outbox import read_outbox
from tests.conftest import auth_headers

LINK = re.compile(r"https?://[^/\s]+(/vendor/quotes/[A-Za-z0-9._-]+)")


def run_task(client: Any, user: str, description: str) -> dict[str, Any]:
    """POST /tasks, run the queued worker invocation, and GET the task."""
    from chalicelib import wiring

    created = client.http.post("/tasks", headers=auth_headers(user), body=json.dumps({"description": description}))
    assert created.status_code == 202, created.body
    wiring.local_runtime().drain()
    return get_task(client, user, created.json_body["id"])


def get_task(client: Any, user: str, task_id: str) -> dict[str, Any]:
    response = client.http.get(f"/tasks/{task_id}", headers=auth_headers(user))
    assert response.status_code == 200, response.body
    return response.json_body


def outbox(data_dir: Path) -> list[dict[str, str]]:
    return read_outbox(data_dir / "outbox")


def link_paths(messages: list[dict[str, str]]) -> dict[str, str]:
    """Recipient -> the path of the quote link in their e-mail."""
    found = {}
    for m in messages:
        match = LINK.search(m["body"])
        assert match, m["body"]
        found[m["to"]] = match.group(1)
    return found
