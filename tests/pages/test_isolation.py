"""One user's activity never reaches another user's prompt or pages, checked on the wire: the
real anthropic SDK talks to the fake Anthropic server, which keeps every request."""

from __future__ import annotations

import json
import uuid

import pytest

from chalicelib import wiring
from chalicelib.pages.generation import PAGE_SCHEMA
from chalicelib.pages.model import Activity
from chalicelib.pages.repository import PagesRepository
from chalicelib.providers.base import validate
from tests.conftest import auth_headers
from tests.fakes import anthropic_server as fake
from tests.fakes.server import FakeServer


@pytest.fixture()
def claude(monkeypatch: pytest.MonkeyPatch, local_env) -> FakeServer:  # noqa: ANN001
    from chalicelib import settings

    with FakeServer(default=fake.schema_filling_handler) as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        settings.reset()
        yield server


def user_message(request_body: dict) -> str:
    return json.dumps(request_body["messages"])


def test_generator_prompts_carry_only_their_own_users_activity(claude: FakeServer) -> None:
    from chalicelib.pages.handlers import service

    engine = wiring.pages_engine()
    a, b = f"a-{uuid.uuid4().hex[:6]}", f"b-{uuid.uuid4().hex[:6]}"
    PagesRepository(engine).record_activity(a, [Activity(page="alpha-secret", action="view", metadata={"note": "ONLY-A"})])
    PagesRepository(engine).record_activity(b, [Activity(page="beta-plans", action="view", metadata={"note": "ONLY-B"})])
    for user in (a, b):
        PagesRepository(engine).enqueue(user, "home", 0.7, {"kind": "test"})
    assert service().generate()["pages_generated"] >= 2
    sent = [user_message(r.body) for r in claude.requests]
    to_a = [m for m in sent if "ONLY-A" in m]
    to_b = [m for m in sent if "ONLY-B" in m]
    assert len(to_a) == 1 and len(to_b) == 1
    assert "ONLY-B" not in to_a[0] and "beta-plans" not in to_a[0] and b not in to_a[0]
    assert "ONLY-A" not in to_b[0] and "alpha-secret" not in to_b[0] and a not in to_b[0]
    for user in (a, b):
        (page,) = PagesRepository(engine).fresh_pages(user)
        validate(page.components, PAGE_SCHEMA)


def test_a_users_cached_page_is_never_served_to_another(client, claude: FakeServer) -> None:  # noqa: ANN001
    a, b = f"a-{uuid.uuid4().hex[:6]}", f"b-{uuid.uuid4().hex[:6]}"
    client.http.post("/activity", headers=auth_headers(a),
                     body=json.dumps({"page": "alpha-secret", "action": "view", "metadata": {"note": "ONLY-A"}}))
    for user in (a, b):  # each has opened home once: a page type the detector knows for them
        client.http.post("/activity", headers=auth_headers(user), body=json.dumps({"page": "home", "action": "view"}))
    first = client.http.get("/pages/home", headers=auth_headers(a)).json_body
    assert first["source"] == "generated"
    for_b = client.http.get("/pages/home", headers=auth_headers(b)).json_body
    assert for_b["source"] == "generated"  # B's miss, generated from B's own activity
    assert "ONLY-A" not in user_message(claude.requests[-1].body)
    assert [p["page_type"] for p in client.http.get("/pages", headers=auth_headers(b)).json_body["pages"]] == ["home"]
    assert client.http.get("/pages", headers=auth_headers(b)).json_body["pages"][0]["components"] == for_b["components"]
