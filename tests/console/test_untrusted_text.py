"""Untrusted text (a model's analysis, a generated page, the agent's answer, a vendor's note) is
displayed as text: `<script>`, `<img onerror>` and `javascript:` links arrive through each path,
show up literally, and nothing runs (the page also fails on any console error, CSP reports too)."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
import uuid
from typing import Any

from tests.collections import images
from tests.conftest import make_token
from tests.console.conftest import seed_page, sign_in
from tests.live_server import wait_for

SCRIPT = "<script>window.__xss = 'script'</script>"
IMG = "<img src=x onerror=\"window.__xss = 'img'\">"
JS_LINK = "javascript:window.__xss='link'"


def _call(base: str, user: str, method: str, path: str, body: bytes | None = None,
          headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(f"{base}{path}", data=body, method=method,
                                     headers={"Authorization": f"Bearer {make_token(user)}",
                                              "Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        raw = response.read()
        return json.loads(raw) if raw else None


def assert_inert(page: Any) -> None:
    """The payloads are on screen as text, and none of them did anything."""
    assert page.evaluate("() => window.__xss") is None
    assert page.locator("main script").count() == 0
    assert page.locator("img[src='x'], img[src$='/x']").count() == 0
    assert page.locator("a[href^='javascript:' i]").count() == 0
    text = page.locator("main").inner_text()
    assert SCRIPT in text and IMG in text, text[:500]
    assert "null" not in text.replace(SCRIPT, "").replace(IMG, "")


class _Model:
    """The analysis a compromised or prompt-injected model could return."""

    def complete_json(self, **_: Any) -> Any:
        from chalicelib.providers.base import JsonResult

        return JsonResult(data={"category": "hostile", "headline": SCRIPT, "summary": IMG,
                                "subcategories": [IMG], "image_details": {"source": JS_LINK, "caption": SCRIPT}},
                          provider_used="anthropic", model_used="claude-test")


def test_analysis_text(page, server, app_env) -> None:  # noqa: ANN001
    from chalicelib import wiring
    from chalicelib.collections.analyzer import analyze_item
    from chalicelib.collections.handlers import repository
    from chalicelib.settings import get_settings

    base, _ = server
    user = f"xa-{uuid.uuid4().hex[:6]}"
    created = _call(base, user, "POST", "/items", json.dumps({"filename": "x.jpg", "content_type": "image/jpeg"}).encode())
    upload = created["upload"]
    urllib.request.urlopen(urllib.request.Request(upload["url"], data=images.jpeg((400, 300), "green"), method="PUT",  # noqa: S310
                                                  headers=upload["headers"]), timeout=10).close()
    item_id = created["item_id"]
    wait_for(lambda: _call(base, user, "GET", f"/items/{item_id}")["status"] == "ready", timeout=60)
    outcome = analyze_item(repository=repository(), blobs=wiring.blob_store(), llm=_Model(), bus=wiring.event_bus(),
                           bucket=get_settings().bucket_name, event_id="xss",
                           detail={"item_id": item_id, "user_id": user, "request_id": f"xss-{item_id}"})
    assert outcome.status == "done"
    wait_for(lambda: _call(base, user, "GET", f"/items/{item_id}")["status"] == "ready", timeout=60)

    sign_in(page, user, f"/#/items/{item_id}")
    page.wait_for_selector(".analysis[data-version='2']")
    page.locator(".analysis[data-version='2'] summary").click()
    assert_inert(page)
    assert JS_LINK in page.locator("main").inner_text()

    page.goto("/#/collection")
    page.wait_for_selector(".item-card .headline")
    assert page.locator(".item-card .headline").text_content() == SCRIPT
    assert page.evaluate("() => window.__xss") is None

    page.goto("/#/search")
    page.get_by_label("Search your images").fill("script onerror")
    page.get_by_label("Meaning (vector)").check()
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_selector(f".result[data-item-id='{item_id}']")
    assert_inert(page)
    assert {"script", "onerror"} <= {m.lower() for m in page.locator(".result mark").all_text_contents()}


def test_page_components(page, server, app_env) -> None:  # noqa: ANN001
    user = f"xp-{uuid.uuid4().hex[:6]}"
    seed_page(user, "hostile", {"title": SCRIPT, "components": [
        {"type": "hero", "title": SCRIPT, "body": IMG, "action": {"label": "go", "href": JS_LINK}},
        {"type": "card", "title": IMG, "body": SCRIPT, "items": [JS_LINK, IMG],
         "action": {"label": "elsewhere", "href": "//evil.example/x"}},
        {"type": "list", "title": "links", "items": [SCRIPT]},
        {"type": "cta", "title": "cta", "action": {"label": SCRIPT, "href": "javascript:alert(1)"}},
        {"type": SCRIPT, "title": IMG},
    ]})
    sign_in(page, user, "/#/pages")
    page.wait_for_selector(".page[data-page-type='hostile']")
    assert_inert(page)
    assert page.locator(".page a").count() == 0  # no link survived: none was http(s) or app-relative
    assert page.locator(".c-unknown").count() == 1


def test_task_answer_and_vendor_notes(page, server, app_env) -> None:  # noqa: ANN001
    from chalicelib import wiring
    from chalicelib.tasks import model

    base, _ = server
    user = f"xt-{uuid.uuid4().hex[:6]}"
    task = _call(base, user, "POST", "/tasks",
                 json.dumps({"description": f"Find a plumber in Austin {SCRIPT} {IMG}"}).encode())
    wait_for(lambda: _call(base, user, "GET", f"/tasks/{task['id']}")["status"] == "completed", timeout=60)
    # a vendor (a stranger) answers the quote request e-mailed to them, with a hostile note
    mails = _call(base, user, "GET", "/local/outbox?limit=10")["messages"]
    link = next(url for m in mails if SCRIPT in m["body"] for url in m["links"] if "/vendor/quotes/" in url)
    request = urllib.request.Request(link, data=json.dumps({"price": 99, "currency": "USD", "note": f"{IMG} {SCRIPT}"})
                                     .encode(), method="POST", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - loopback
    # and the agent's answer as a compromised model could have written it
    updated = wiring.task_store().apply(task["id"], model.Change(
        expect=("completed",), event=model.event(f"agent note: {IMG}"),
        fields={"agent_response": f"Done. {SCRIPT} {IMG} {JS_LINK}"}))
    assert updated is not None
    sign_in(page, user, f"/#/tasks/{task['id']}")
    page.wait_for_selector("table:has(caption:text('Quotes')) tbody tr")
    assert SCRIPT in page.locator(".agent-response").text_content()
    assert SCRIPT in page.locator(".description").text_content()
    assert_inert(page)
    quotes = page.locator("table:has(caption:text('Quotes'))")
    assert IMG in quotes.inner_text() and SCRIPT in quotes.inner_text()
    assert page.locator("main a[href^='javascript' i]").count() == 0

    page.get_by_role("link", name="Open the local outbox (the e-mails sent for this task)").click()
    page.wait_for_selector(".outbox .email")
    assert_inert(page)


def _amend(page: Any, pattern: str, change: Any) -> None:
    """Let the real API answer, then add fields that other branches are adding to it (a search
    answer, e-mails as messages), so their rendering is held to the same rules today."""

    def handler(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        change(body)
        route.fulfill(response=response, body=json.dumps(body))

    page.route(pattern, handler)


def test_search_answer_and_email_messages(page, server) -> None:  # noqa: ANN001
    base, _ = server
    user = f"xs-{uuid.uuid4().hex[:6]}"
    created = _call(base, user, "POST", "/items", json.dumps({"filename": "a.png", "content_type": "image/png"}).encode())
    urllib.request.urlopen(urllib.request.Request(created["upload"]["url"], data=images.png((300, 300), "blue"),  # noqa: S310
                                                  method="PUT", headers=created["upload"]["headers"]), timeout=10).close()
    item_id = created["item_id"]
    wait_for(lambda: _call(base, user, "GET", f"/items/{item_id}")["status"] == "ready", timeout=60)
    task = _call(base, user, "POST", "/tasks", json.dumps({"description": "quotes for a painter"}).encode())
    wait_for(lambda: _call(base, user, "GET", f"/tasks/{task['id']}")["status"] == "completed", timeout=60)

    _amend(page, "**/search", lambda body: body.update(answer={
        "text": f"It is blue {SCRIPT} {IMG}", "citations": [item_id, JS_LINK], "provider_used": "offline"}))
    sign_in(page, user, "/#/search")
    page.get_by_label("Search your images").fill("blue")
    page.get_by_label("Answer the question from my images (with citations)").check()
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_selector(".answer .answer-text")
    assert page.locator(".answer .answer-text").text_content() == f"It is blue {SCRIPT} {IMG}"
    citations = page.locator(".citations a")
    assert citations.count() == 2
    assert citations.nth(0).get_attribute("href") == f"#/items/{item_id}"
    kept = urllib.parse.quote(JS_LINK, safe="~()*!.'")  # as encodeURIComponent: a console route, not a script
    assert citations.nth(1).get_attribute("href") == f"#/items/{kept}"
    assert page.evaluate("() => window.__xss") is None
    citations.nth(0).click()
    page.wait_for_selector("h1:text('a.png')")

    _amend(page, f"**/tasks/{task['id']}", lambda body: body.update(emails_sent=[
        {"to": "vendor@example.invalid", "subject": SCRIPT, "body": IMG, "sent_at": "2026-12-03T08:00:00Z"}]))
    page.goto(f"/#/tasks/{task['id']}")
    page.wait_for_selector(".emails li")
    emails = page.locator(".emails").inner_text()
    assert SCRIPT in emails and IMG in emails and "vendor@example.invalid" in emails and "sent_at" in emails
    assert page.evaluate("() => window.__xss") is None
