"""Tasks, pages and operations in a real browser, plus sign-in expiry, keyboard-only use and
axe-core's checks of labels and contrast on every view."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_token
from tests.console.conftest import screenshot, seed_page, sign_in

#: One component of every type the generator's schema allows, and one it does not.
EVERY_COMPONENT = {
    "title": "Your morning",
    "components": [
        {"type": "hero", "title": "Welcome back", "body": "Three tasks finished overnight.",
         "action": {"label": "See tasks", "href": "/tasks"}},
        {"type": "card", "title": "Latest upload", "body": "A red square, analysed.", "items": ["ready", "1 version"]},
        {"type": "list", "title": "Recent searches", "items": ["sky", "receipts", "cats"]},
        {"type": "shortcut", "title": "Upload photos", "action": {"label": "Open the collection", "href": "/items"}},
        {"type": "metric", "title": "Items ready", "body": "42"},
        {"type": "cta", "title": "Ask for quotes", "body": "Find a plumber for Friday.",
         "action": {"label": "New task", "href": "/tasks"}},
        {"type": "tip", "title": "Search by meaning", "body": "Vector mode finds paraphrases."},
        {"type": "carousel", "title": "A type from a newer generator", "body": "shown as text"},
    ],
}


def test_create_a_task_watch_its_timeline_and_a_quote_arrive(page, server) -> None:  # noqa: ANN001
    sign_in(page, f"tom-{uuid.uuid4().hex[:6]}", "/#/tasks")
    page.get_by_label("What should the agent do?").fill("Find a plumber in Austin for a leaking kitchen tap, budget $300")
    page.get_by_role("button", name="Create task").click()
    page.wait_for_selector("[data-testid='task-status'] >> text=completed", timeout=60_000)
    task_url = page.url
    timeline = page.locator(".timeline li")
    assert timeline.count() >= 3
    messages = " ".join(timeline.all_text_contents())
    assert "Task created" in messages and "Agent completed task successfully" in messages
    assert page.locator(".agent-response").text_content().strip()
    vendors = page.locator("table:has(caption:text('Vendors')) tbody tr")
    assert vendors.count() == 3
    assert "plumbing" in vendors.first.text_content() and "sent" in vendors.first.text_content()
    assert page.locator("text=3 e-mails sent").count() == 1
    assert page.locator("table:has(caption:text('Quotes'))").count() == 0  # no vendor has answered yet
    assert not re.search(r"\b(null|undefined)\b", page.locator("main").inner_text())

    # the outbox holds the e-mails; a vendor answers through the link in theirs, and the quote
    # shows up on the task's page while it is open
    page.get_by_role("link", name="Open the local outbox (the e-mails sent for this task)").click()
    page.wait_for_selector(".outbox .email")
    assert page.locator(".outbox .email").count() >= 3
    link = page.locator(".email-link[href*='/vendor/quotes/']").first.get_attribute("href")
    page.goto(task_url)
    page.wait_for_selector("table:has(caption:text('Vendors'))")
    answer = page.request.post(link, data={"price": 275.5, "currency": "USD", "note": "Tuesday morning"})
    assert answer.status == 200, answer.text()
    quotes = page.locator("table:has(caption:text('Quotes')) tbody tr")
    quotes.first.wait_for(timeout=30_000)
    assert "275.5" in quotes.first.text_content() and "Tuesday morning" in quotes.first.text_content()
    screenshot(page, "console-task.png")
    page.get_by_role("link", name="← Tasks").click()
    page.wait_for_selector(".task-list li >> text=plumber")


def test_a_page_of_every_component_type(page, server, app_env) -> None:  # noqa: ANN001
    from chalicelib.pages.generation import COMPONENT_TYPES

    user = f"pam-{uuid.uuid4().hex[:6]}"
    seed_page(user, "morning", EVERY_COMPONENT)
    sign_in(page, user, "/#/pages")
    page.wait_for_selector(".page[data-page-type='morning']")
    rendered = page.locator("[data-component]").evaluate_all("els => els.map(e => e.dataset.component)")
    assert set(COMPONENT_TYPES) <= set(rendered), rendered  # a renderer for every type the schema allows
    assert rendered.count("unknown") == 1
    assert page.locator(".c-unknown").text_content().startswith('Unsupported component type "carousel"')
    assert page.locator(".c-hero a").get_attribute("href") == "#/tasks"
    assert page.locator(".c-shortcut a").get_attribute("href") == "#/collection"
    assert page.locator(".c-metric .metric-value").text_content() == "42"
    screenshot(page, "console-pages.png")
    page.locator(".c-hero a").click()
    page.wait_for_selector("h1:text('Tasks')")


def test_navigation_is_recorded_as_activity(page, server, app_env) -> None:  # noqa: ANN001
    from datetime import timedelta

    from chalicelib import wiring
    from chalicelib.pages.repository import PagesRepository
    from chalicelib.timeutil import utcnow_naive

    user = f"ada-{uuid.uuid4().hex[:6]}"
    keys: list[str | None] = []
    page.on("request", lambda r: keys.append(r.headers.get("idempotency-key"))
            if r.method == "POST" and r.url.endswith("/activity") else None)
    sign_in(page, user, "/#/search")
    page.get_by_role("link", name="Tasks").click()
    page.wait_for_selector("h1:text('Tasks')")
    page.get_by_role("link", name="Pages").click()
    page.wait_for_selector("h1:text('Pages')")

    def pages_seen() -> list[str]:
        events = PagesRepository(wiring.pages_engine()).user_activity(user, utcnow_naive() - timedelta(hours=1))
        return [e.page for e in events]

    from tests.live_server import wait_for

    seen = wait_for(lambda: (lambda p: p if {"search", "tasks", "pages"} <= set(p) else None)(pages_seen()), timeout=15)
    assert all(e == "view" for e in [e.action for e in PagesRepository(wiring.pages_engine()).user_activity(
        user, utcnow_naive() - timedelta(hours=1))]), seen
    assert len(keys) >= 3 and all(keys) and len(set(keys)) == len(keys)  # one fresh Idempotency-Key each


def test_operations_fire_a_schedule_and_retry_a_failed_delivery(page, server, app_env) -> None:  # noqa: ANN001
    from chalicelib import wiring

    queue = wiring.local_runtime().queue
    doomed = queue.enqueue("invoke", "no_such_function", {"probe": True})  # fails every attempt
    from tests.live_server import wait_for

    wait_for(lambda: queue.get(doomed).status == "failed", timeout=30)
    sign_in(page, f"oli-{uuid.uuid4().hex[:6]}", "/#/ops")
    page.get_by_role("button", name="Fire item_sweeper now").click()
    page.wait_for_selector("tr:has-text('item_sweeper') >> .badge.status-succeeded", timeout=30_000)
    row = page.locator(f"tr[data-delivery-id='{doomed}']")
    assert "failed" in row.locator(".badge").text_content()
    assert "3/3" in row.text_content()
    assert page.locator("table:has(caption:text('Metrics')) tbody tr").count() >= 1
    screenshot(page, "console-ops.png")
    row.get_by_role("button", name="Retry no_such_function").click()
    page.wait_for_selector("#status:has-text('queued again')")
    wait_for(lambda: queue.get(doomed).attempts >= 1 and queue.get(doomed).status in ("queued", "running", "failed"))


def test_an_expired_token_returns_to_sign_in_and_back_to_the_same_page(page, server) -> None:  # noqa: ANN001
    user = f"eve-{uuid.uuid4().hex[:6]}"
    sign_in(page, user, "/#/tasks")
    page.evaluate("t => sessionStorage.setItem('console.token', t)", make_token(user, ttl=-3600))
    page.get_by_role("link", name="Search").click()
    page.wait_for_selector("text=Your session has expired; sign in again.")
    assert page.url.endswith("#/search")
    page.get_by_role("link", name="Pages").click()  # moving on while signed out keeps the reason
    page.wait_for_selector("#signin-user")
    assert page.url.endswith("#/pages")
    assert page.locator("main .notice").text_content() == "Your session has expired; sign in again."
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("h1:text('Pages')")
    assert page.url.endswith("#/pages")


def test_the_console_works_with_the_keyboard_alone(page, server) -> None:  # noqa: ANN001
    page.goto("/")
    page.wait_for_selector("#signin-user")
    assert page.evaluate("() => document.activeElement.id") == "signin-user"
    page.keyboard.press("Control+A")
    page.keyboard.type(f"kim-{uuid.uuid4().hex[:6]}")
    page.keyboard.press("Enter")
    page.wait_for_selector("#who:has-text('Signed in as')")

    def tab_to(predicate: str, limit: int = 40) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(predicate):
                return
        raise AssertionError(f"never reached {predicate} with Tab")

    page.evaluate("() => document.body.focus()")
    tab_to("() => document.activeElement.textContent === 'Skip to content'")
    tab_to("() => document.activeElement.getAttribute('data-route') === 'tasks'")
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:text('Tasks')")
    tab_to("() => document.activeElement.id === 'task-description'")
    page.keyboard.type("Book a window cleaner, budget $120")
    tab_to("() => document.activeElement.textContent === 'Create task'")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid='task-status'] >> text=completed", timeout=60_000)
    page.evaluate("() => document.body.focus()")
    tab_to("() => document.activeElement.getAttribute('data-route') === 'search'")
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:text('Search')")
    assert page.evaluate("() => document.activeElement.id") == "search-query"
    page.keyboard.type("window")
    page.keyboard.press("Enter")
    page.wait_for_selector(".search-results h2")
    # the focus ring is visible (not removed by the stylesheet)
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


AXE_RULES = ["label", "color-contrast", "button-name", "link-name", "image-alt", "select-name",
             "aria-allowed-attr", "list", "listitem", "document-title", "html-has-lang", "duplicate-id-aria"]


def _axe(page: Any) -> list[dict[str, Any]]:
    """axe-core (shipped by axe-playwright-python) injected through the DevTools protocol, which
    the page's CSP does not govern; the page itself never allows inline or eval'd script."""
    import axe_playwright_python

    source = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(f"() => {{ {source}\n }}")
    return page.evaluate("rules => axe.run(document, {runOnly: {type: 'rule', values: rules}})"
                         ".then(r => r.violations.map(v => ({id: v.id, nodes: v.nodes.map(n => n.target.join(' '))})))",
                         AXE_RULES)


@pytest.mark.parametrize("route", ["#/collection", "#/search", "#/tasks", "#/pages", "#/ops"])
def test_axe_finds_no_label_or_contrast_violations(page, server, app_env, route: str) -> None:  # noqa: ANN001
    user = f"axe-{uuid.uuid4().hex[:6]}"
    seed_page(user, "morning", EVERY_COMPONENT)
    page.goto("/")
    page.wait_for_selector("#signin-user")
    assert _axe(page) == []  # the sign-in form
    sign_in(page, user, f"/{route}")
    page.wait_for_selector("main h1")
    page.wait_for_timeout(500)  # let the view's data arrive
    assert _axe(page) == []
    # axe really looks: an input planted without a label is reported
    page.evaluate("() => document.querySelector('main').append(document.createElement('input'))")
    assert "label" in [v["id"] for v in _axe(page)]


def test_an_aws_stage_without_cognito_takes_a_pasted_token_and_links_to_cloudwatch(page, server) -> None:  # noqa: ANN001
    """The console as an AWS stage shows it (config.json as such a stage answers it; the API
    behind is the local one): a pasted token signs in, Operations links to the dashboard."""
    config = {"stage": "prod", "local": False, "version": "1", "cognito": None, "aws_links": {
        "dashboard": "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/ai-backend-prod",
        "alarms": "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:?search=ai-backend-prod"}}
    page.route("**/console/config.json", lambda route: route.fulfill(status=200, content_type="application/json",
                                                                      body=json.dumps(config)))
    page.goto("/#/ops")
    assert page.locator("#signin-user").count() == 0  # no local sign-in outside the local stage
    page.get_by_label("Paste a bearer token (JWT)").fill(make_token("ops-person", ttl=-10))
    page.get_by_role("button", name="Use this token").click()
    page.wait_for_selector("text=that token is malformed or expired")
    page.get_by_label("Paste a bearer token (JWT)").fill("Bearer " + make_token("ops-person"))
    page.get_by_role("button", name="Use this token").click()
    page.wait_for_selector("#who:has-text('Signed in as ops-person')")
    dashboard = page.get_by_role("link", name="CloudWatch dashboard")
    assert dashboard.get_attribute("href") == config["aws_links"]["dashboard"]
    assert dashboard.get_attribute("rel") == "noopener noreferrer"
    assert page.get_by_role("link", name="CloudWatch alarms").get_attribute("href") == config["aws_links"]["alarms"]


def test_the_ambient_loop_end_to_end_from_the_console(page, server) -> None:  # noqa: ANN001
    """Navigation recorded as activity -> pattern detector -> generator -> a page the console
    renders: pages then tasks, three times, back on pages: the detector predicts tasks next."""
    sign_in(page, f"amb-{uuid.uuid4().hex[:6]}", "/#/collection")
    for name in ("Pages", "Tasks") * 3 + ("Pages",):
        with page.expect_response(lambda r: r.url.endswith("/activity") and r.status == 202):
            page.get_by_role("link", name=name, exact=True).click()
    page.get_by_role("button", name="Run the detector and generator now").click()
    page.wait_for_selector("#status:has-text('Detector and generator ran')", timeout=90_000)
    generated = page.locator(".page[data-page-type='tasks']")
    generated.wait_for()
    assert generated.locator("[data-component]").count() >= 1
    assert "offline" in generated.locator(".muted").first.text_content()
