"""Claude and Voyage answering 429, 500, 529 or timing out, through the whole app: the real
anthropic and voyageai SDKs talk to fake servers on loopback that fail on command.

While a provider is down the API answers 503 with Retry-After (never 500), the pipeline step
that needs it fails its delivery and records why on the item (nothing is lost: the item and
its upload stay), and once the provider is back the next request works with no restart and a
retried delivery completes the item. A provider that refuses a request (4xx) marks the item
failed with the reason instead of retrying something that cannot succeed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import settings, wiring
from tests.collections import images
from tests.collections.conftest import get_item, search, upload
from tests.conftest import auth_headers
from tests.fakes import anthropic_server as claude_fake
from tests.fakes.server import FakeServer
from tests.fakes.voyage_server import embeddings_handler

TIMEOUT_SECONDS = 1.0  # PROVIDER_TIMEOUT_SECONDS in these tests; a "timeout" reply takes longer

#: How each provider fails, as its API would answer (status, body) or not answer at all.
FAULTS: dict[str, Any] = {
    "429": lambda kind: (429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"},
                               "detail": "rate limited"}),
    "500": lambda kind: (500, {"type": "error", "error": {"type": "api_error", "message": "boom"},
                               "detail": "internal error"}),
    "529": lambda kind: (529, {"type": "error", "error": {"type": "overloaded_error", "message": "overloaded"}}),
    "timeout": lambda kind: (200, {}, TIMEOUT_SECONDS * 2.5),
}


@pytest.fixture()
def providers(local_env, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeServer, FakeServer]]:  # noqa: ANN001
    """Working fake Claude and Voyage servers, with the app's real SDKs pointed at them."""
    with FakeServer(default=claude_fake.schema_filling_handler) as claude, \
            FakeServer(default=embeddings_handler) as voyage:
        for name, value in {"ANTHROPIC_API_KEY": "sk-ant-fault-test", "ANTHROPIC_BASE_URL": claude.url,
                            "VOYAGE_API_KEY": "pa-fault-test", "VOYAGE_BASE_URL": voyage.url + "/v1",
                            "PROVIDER_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS), "PROVIDER_MAX_RETRIES": "1"}.items():
            monkeypatch.setenv(name, value)
        settings.reset()
        wiring.set_app(__import__("app").app)
        yield claude, voyage


@contextlib.contextmanager
def outage(server: FakeServer, fault: str) -> Iterator[None]:
    """Every request to ``server`` fails with ``fault`` until the block ends."""
    working = server.handler
    server.handler = lambda path, headers, body: FAULTS[fault](path)
    try:
        yield
    finally:
        server.handler = working


def failed_deliveries(target: str) -> list[Any]:
    return [d for d in wiring.local_runtime().queue.list("failed") if d.target == target]


def retry_and_drain(target: str) -> None:
    """What `make retry ID=` does for each failed delivery of ``target``, then deliver."""
    runtime = wiring.local_runtime()
    for delivery in failed_deliveries(target):
        runtime.queue.retry(delivery.id)
    runtime.drain(timeout=30)


def assert_503(response: Any) -> None:
    assert response.status_code == 503, response.body
    assert response.headers.get("Retry-After", "").isdigit()
    assert response.json_body["error"]["code"] == "service_unavailable"


@pytest.mark.parametrize("fault", ["429", "500", "529", "timeout"])
def test_claude_outage(client, user, providers, fault: str) -> None:  # noqa: ANN001
    claude, _ = providers
    client.http.post("/activity", headers=auth_headers(user), body='{"page": "home", "action": "view"}')
    with outage(claude, fault):
        assert_503(client.http.get("/pages/home", headers=auth_headers(user)))
        item_id = upload(client, user, images.jpeg((640, 480), "red"))
        wiring.local_runtime().drain(timeout=60)

        item = get_item(client, user, item_id).json_body
        assert item["status"] == "processing", item  # thumbnailed, waiting for its analysis
        assert item["error"].startswith("will be retried: analysis: Claude unavailable"), item["error"]
        [delivery] = failed_deliveries("collections_analyzer")
        assert delivery.attempts == 3 and "ProviderUnavailable" in delivery.last_error

    page = client.http.get("/pages/home", headers=auth_headers(user))  # recovered, no restart
    assert page.status_code == 200, page.body
    assert page.json_body["provider_used"] == "anthropic"
    retry_and_drain("collections_analyzer")
    item = get_item(client, user, item_id).json_body
    assert item["status"] == "ready" and item["error"] is None, item
    assert item["latest_analysis"]["provider_used"] == "anthropic"


@pytest.mark.parametrize("fault", ["429", "500", "timeout"])
def test_voyage_outage(client, user, providers, fault: str) -> None:  # noqa: ANN001
    _, voyage = providers
    ready_before = upload(client, user, images.jpeg((640, 480), "blue"))
    wiring.local_runtime().drain(timeout=30)
    assert get_item(client, user, ready_before).json_body["status"] == "ready"

    with outage(voyage, fault):
        assert_503(search(client, user, query="photo", mode="vector"))
        assert_503(search(client, user, query="photo", mode="hybrid"))
        keyword = search(client, user, query="photo", mode="keyword")  # needs no provider
        assert keyword.status_code == 200, keyword.body

        item_id = upload(client, user, images.jpeg((640, 480), "green"))
        wiring.local_runtime().drain(timeout=60)
        item = get_item(client, user, item_id).json_body
        assert item["status"] == "processing" and item["latest_analysis"] is not None, item
        assert item["error"].startswith("will be retried: embedding: Voyage unavailable"), item["error"]
        [delivery] = failed_deliveries("collections_embedder")
        assert delivery.attempts == 3 and "ProviderUnavailable" in delivery.last_error

    # min_score -1: every item with a vector, whatever its similarity (the floor is not under test)
    found = search(client, user, query="photo", mode="vector", min_score=-1)  # recovered, no restart
    assert found.status_code == 200, found.body
    assert ready_before in [r["item_id"] for r in found.json_body["results"]]
    retry_and_drain("collections_embedder")
    item = get_item(client, user, item_id).json_body
    assert item["status"] == "ready" and item["error"] is None, item
    found = search(client, user, query="photo", mode="vector", min_score=-1).json_body["results"]
    assert {ready_before, item_id} <= {r["item_id"] for r in found}


def test_a_refused_request_fails_the_item_with_the_reason(client, user, providers) -> None:  # noqa: ANN001
    claude, voyage = providers
    client.http.post("/activity", headers=auth_headers(user), body='{"page": "home", "action": "view"}')
    voyage.handler = lambda *_: (401, {"detail": "Provided API key is invalid."})
    item_id = upload(client, user, images.jpeg((640, 480), "red"))
    wiring.local_runtime().drain(timeout=30)
    item = get_item(client, user, item_id).json_body
    assert item["status"] == "failed" and item["error"].startswith("embedding failed: Voyage rejected"), item
    assert failed_deliveries("collections_embedder") == []  # not retried: it cannot succeed
    refused = search(client, user, query="photo", mode="vector")
    assert refused.status_code == 502 and refused.json_body["error"]["code"] == "provider_error", refused.body

    claude.handler = lambda *_: claude_fake.error(400, "invalid_request_error")
    item_id = upload(client, user, images.jpeg((640, 480), "blue"))
    wiring.local_runtime().drain(timeout=30)
    item = get_item(client, user, item_id).json_body
    assert item["status"] == "failed" and item["error"].startswith("analysis failed: the request was refused"), item
    assert item["latest_analysis"] is None and failed_deliveries("collections_analyzer") == []
    page = client.http.get("/pages/home", headers=auth_headers(user))
    assert page.status_code == 502 and page.json_body["error"]["code"] == "provider_error", page.body


@pytest.mark.parametrize("fault", ["429", "500", "529", "timeout"])
def test_claude_outage_during_a_task(client, user, providers, fault: str) -> None:  # noqa: ANN001
    """The task worker's agent is Claude (no AgentCore runtime configured): 202 at once, the
    task waits as `pending` with the reason in its timeline, and the retried invocation
    completes it once Claude is back."""
    claude, _ = providers
    headers = auth_headers(user)
    with outage(claude, fault):
        created = client.http.post("/tasks", headers=headers, body='{"description": "find two florists"}')
        assert created.status_code == 202, created.body
        task_id = created.json_body["id"]
        wiring.local_runtime().drain(timeout=60)
        task = client.http.get(f"/tasks/{task_id}", headers=headers).json_body
        assert task["status"] == "pending", task
        assert any(e["type"] == "warning" and "Claude unavailable" in e["message"] for e in task["events"])
        [delivery] = failed_deliveries("task_worker")
        assert delivery.attempts == 3

    retry_and_drain("task_worker")
    task = client.http.get(f"/tasks/{task_id}", headers=headers).json_body
    assert task["status"] == "completed" and task["provider_used"] == "anthropic", task
