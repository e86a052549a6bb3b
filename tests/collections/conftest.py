"""Collections fixtures: the app's local stage with fake LLM/embedder edges, helpers to upload
through the API and read items back."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.collections.fakes import FakeEmbedder, FakeLLM
from tests.conftest import auth_headers

BUCKET = "collections-images-local"


@pytest.fixture()
def fake_llm(override_adapters) -> FakeLLM:  # noqa: ANN001
    llm = FakeLLM()
    override_adapters(llm=llm)
    return llm


@pytest.fixture()
def fake_embedder(override_adapters) -> FakeEmbedder:  # noqa: ANN001
    embedder = FakeEmbedder()
    override_adapters(embedder=embedder)
    return embedder


@pytest.fixture()
def real_sdks(monkeypatch: pytest.MonkeyPatch, local_env):  # noqa: ANN001, ANN201
    """The real anthropic and voyageai SDKs pointed at fake servers on loopback: (claude, voyage)."""
    from chalicelib import settings, wiring
    from tests.fakes.server import FakeServer
    from tests.fakes.voyage_server import voyage_server

    with FakeServer() as claude, voyage_server() as voyage:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", claude.url)
        monkeypatch.setenv("VOYAGE_API_KEY", "pa-test")
        monkeypatch.setenv("VOYAGE_BASE_URL", voyage.url + "/v1")
        settings.reset()
        wiring.set_app(__import__("app").app)
        yield claude, voyage


@pytest.fixture()
def fakes(fake_llm: FakeLLM, fake_embedder: FakeEmbedder) -> tuple[FakeLLM, FakeEmbedder]:
    return fake_llm, fake_embedder


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def create_item(client, user: str, filename: str = "photo.jpg", content_type: str = "image/jpeg") -> dict:  # noqa: ANN001
    response = client.http.post("/items", headers=auth_headers(user),
                                body=json.dumps({"filename": filename, "content_type": content_type}))
    assert response.status_code == 201, response.body
    return response.json_body


def upload(client, user: str, data: bytes, filename: str = "photo.jpg",  # noqa: ANN001
           content_type: str = "image/jpeg") -> str:
    """POST /items then PUT the bytes to the returned URL; returns the item id."""
    created = create_item(client, user, filename, content_type)
    put = client.http.put(path_of(created["upload"]["url"]), headers=created["upload"]["headers"], body=data)
    assert put.status_code == 200, put.body
    return created["item_id"]


def get_item(client, user: str, item_id: str) -> Any:  # noqa: ANN001
    return client.http.get(f"/items/{item_id}", headers=auth_headers(user))


def search(client, user: str, **body: Any) -> Any:  # noqa: ANN001
    return client.http.post("/search", headers=auth_headers(user), body=json.dumps(body))


def counts(item_id: str) -> dict[str, int]:
    """Rows the pipeline wrote for ``item_id``."""
    from sqlalchemy import func, select

    from chalicelib import wiring
    from chalicelib.collections.tables import analyses, embeddings

    with wiring.engine().connect() as conn:
        return {
            "analyses": conn.execute(select(func.count()).where(analyses.c.item_id == item_id)).scalar_one(),
            "embeddings": conn.execute(select(func.count()).where(embeddings.c.item_id == item_id)).scalar_one(),
        }


def deliveries(runtime, target: str) -> list:  # noqa: ANN001
    """Every delivery the local runtime has queued for handler ``target``."""
    return [d for d in runtime.queue.list(limit=1000) if d.target == target]


def handler(name: str):  # noqa: ANN201
    """The (event, context) callable Lambda would call for ``name``."""
    from app import app

    return app.handler_map[name]
