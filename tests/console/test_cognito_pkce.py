"""Sign-in through Cognito's hosted UI with PKCE, in a real browser. Chromium never leaves the
machine: Playwright answers the hosted UI's two endpoints (authorize, token) itself, checking the
flow as Cognito would (S256 challenge against the verifier, state, client id, redirect URI)."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import TEST_JWT_SECRET, make_token
from tests.console.conftest import chromium_or_skip
from tests.live_server import local_server

DOMAIN = "auth.console-test.example"
CLIENT_ID = "console-client-123"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    chromium_or_skip()
    extra = {"CONSOLE_COGNITO_DOMAIN": DOMAIN, "CONSOLE_COGNITO_CLIENT_ID": CLIENT_ID}
    with local_server(tmp_path_factory.mktemp("cognito-server"), pg_url, TEST_JWT_SECRET, extra_env=extra) as running:
        yield running


def test_hosted_ui_sign_in_with_pkce_returns_to_the_page(page, server) -> None:  # noqa: ANN001
    base, _ = server
    seen: dict[str, Any] = {}

    def authorize(route: Any) -> None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(route.request.url).query))
        seen["authorize"] = query
        back = f"{query['redirect_uri']}?code=the-code&state={urllib.parse.quote(query['state'])}"
        route.fulfill(status=302, headers={"Location": back})

    def token(route: Any) -> None:
        form = dict(urllib.parse.parse_qsl(route.request.post_data or ""))
        seen["token"] = form
        challenge = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest()).rstrip(b"=")
        cors = {"Access-Control-Allow-Origin": base, "Content-Type": "application/json"}
        if challenge.decode() != seen["authorize"]["code_challenge"] or form["code"] != "the-code":
            route.fulfill(status=400, headers=cors, body=json.dumps({"error": "invalid_grant"}))
            return
        route.fulfill(status=200, headers=cors, body=json.dumps(
            {"id_token": make_token("cognito-user-42"), "access_token": "opaque", "token_type": "Bearer"}))

    page.route(f"https://{DOMAIN}/oauth2/authorize*", authorize)
    page.route(f"https://{DOMAIN}/oauth2/token", token)
    page.goto("/#/tasks")
    page.get_by_role("button", name="Sign in with Cognito").click()
    page.wait_for_selector("#who:has-text('Signed in as cognito-user-42')")
    page.wait_for_selector("h1:text('Tasks')")
    page.wait_for_selector(".task-list li")  # the API accepted the token: the list loaded

    auth = seen["authorize"]
    assert auth["response_type"] == "code" and auth["client_id"] == CLIENT_ID
    assert auth["code_challenge_method"] == "S256" and len(auth["code_challenge"]) == 43
    assert auth["redirect_uri"] == f"{base}/"
    assert seen["token"]["grant_type"] == "authorization_code" and seen["token"]["client_id"] == CLIENT_ID
    assert seen["token"]["redirect_uri"] == auth["redirect_uri"]
    assert page.url == f"{base}/#/tasks"  # the code and state are gone from the address bar
    assert page.evaluate("() => sessionStorage.getItem('console.pkce')") is None


def test_a_forged_state_is_refused(page, server) -> None:  # noqa: ANN001
    def authorize(route: Any) -> None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(route.request.url).query))
        route.fulfill(status=302, headers={"Location": f"{query['redirect_uri']}?code=stolen&state=forged"})

    exchanged: list[str] = []
    page.route(f"https://{DOMAIN}/oauth2/authorize*", authorize)
    page.route(f"https://{DOMAIN}/oauth2/token", lambda route: (exchanged.append("yes"), route.abort()))
    page.goto("/#/search")
    page.get_by_role("button", name="Sign in with Cognito").click()
    page.wait_for_selector("text=sign-in state did not match; try again")
    assert exchanged == [] and page.evaluate("() => sessionStorage.getItem('console.token')") is None
