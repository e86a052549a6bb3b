"""Offline pages through the API and the schedules (no API key: the offline composer), and the
detector's account of why it queued nothing."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from sqlalchemy import delete

from chalicelib import settings, wiring
from chalicelib.pages.detector import StatisticalDetector
from chalicelib.pages.generation import PAGE_SCHEMA
from chalicelib.pages.model import Activity
from chalicelib.pages.repository import PagesRepository
from chalicelib.providers.base import validate
from chalicelib.timeutil import utcnow_naive
from tests.conftest import auth_headers


def page_text(page: dict) -> str:
    components = page["components"]
    return json.dumps(components)


def test_a_predicted_page_is_built_from_the_users_own_activity(client, runtime, user, monkeypatch) -> None:  # noqa: ANN001
    for name in ("ANTHROPIC_API_KEY", "CLAUDE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    engine = wiring.pages_engine()
    now = utcnow_naive()
    events = [Activity(page="reports", action="view", occurred_at=now - timedelta(days=d)) for d in (1, 2, 3, 5)]
    events += [Activity(page="reports", action="export-csv", occurred_at=now - timedelta(days=2, minutes=-3)),
               Activity(page="billing", action="pay", occurred_at=now - timedelta(days=4, hours=6))]
    PagesRepository(engine).record_activity(user, events)
    runtime.fire("pattern_detector")
    runtime.drain()
    expected = {p.page_type: p.confidence
                for p in StatisticalDetector().detect(PagesRepository(engine).user_activity(user, now - timedelta(days=14)), now)}
    runtime.fire("page_generator")
    runtime.drain()

    page = client.http.get("/pages/reports", headers=auth_headers(user)).json_body
    assert page["source"] == "cache" and page["provider_used"] == "offline"
    assert page["model_used"] == "offline-activity-composer-1"
    validate(page["components"], PAGE_SCHEMA)
    assert page["relevance_score"] == expected["reports"]  # the detector's confidence, not a constant
    text = page_text(page)
    assert "You visited Reports 5 times" in text
    assert "export-csv: once" in text and "view: 4 times" in text  # what they did, how often
    assert "on 4 different days" in text or "weeks in a row" in text  # why it was predicted
    hrefs = [c["action"]["href"] for c in page["components"]["components"] if "action" in c]
    assert set(hrefs) == {"/reports", "/billing"}  # only the user's real pages
    assert "pay on Billing" in text  # the recent actions, as recorded


def test_a_user_with_no_activity_gets_no_invented_page_and_no_relevance(client, user, monkeypatch) -> None:  # noqa: ANN001
    for name in ("ANTHROPIC_API_KEY", "CLAUDE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PAGE_TYPES", "dashboard")  # configured: generated without any activity (else 404)
    settings.reset()
    page = client.http.get("/pages/dashboard", headers=auth_headers(user)).json_body
    assert page["source"] == "generated" and page["provider_used"] == "offline"
    assert page["relevance_score"] == 0.0
    kinds = [c["type"] for c in page["components"]["components"]]
    assert kinds == ["hero", "tip"]
    assert "No activity is recorded for you yet" in page_text(page)


def test_a_requested_page_scores_its_share_of_the_users_activity(client, user, monkeypatch) -> None:  # noqa: ANN001
    for name in ("ANTHROPIC_API_KEY", "CLAUDE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    now = utcnow_naive()
    PagesRepository(wiring.pages_engine()).record_activity(user, [
        Activity(page="inbox", action="view", occurred_at=now - timedelta(hours=h)) for h in (1, 2, 3)
    ] + [Activity(page="settings", action="view", occurred_at=now - timedelta(hours=4))])
    page = client.http.get("/pages/inbox", headers=auth_headers(user)).json_body
    assert page["relevance_score"] == 0.75
    assert "You visited Inbox 3 times" in page_text(page)


def test_the_detector_says_why_it_queued_nothing(service, engine) -> None:  # noqa: ANN001
    with engine.begin() as connection:  # this test counts users: start from no recent activity
        from chalicelib.pages.tables import activity_log

        connection.execute(delete(activity_log))
    assert service.detect(StatisticalDetector())["why_none"] == "no activity in the last 14 days"
    now = utcnow_naive()
    newcomer, wanderer = f"n-{uuid.uuid4().hex[:6]}", f"w-{uuid.uuid4().hex[:6]}"
    PagesRepository(engine).record_activity(newcomer, [Activity(page="home", action="view", occurred_at=now)])
    # ten days, a different page and hour each day: plenty of history, no pattern strong enough
    PagesRepository(engine).record_activity(wanderer, [
        Activity(page=f"page-{d}", action="view", occurred_at=now - timedelta(days=d, hours=(d * 5) % 11 + 2))
        for d in range(1, 11)])
    stats = service.detect(StatisticalDetector())
    assert stats["queued"] == 0 and stats["users"] == 2
    assert stats["nothing_queued"] == {"too_little_history": 1, "below_threshold": 1}
    assert stats["why_none"] == "1 user(s): below threshold; 1 user(s): too little history"


def test_the_run_counts_users_whose_pages_are_already_queued(service, engine) -> None:  # noqa: ANN001
    with engine.begin() as connection:
        from chalicelib.pages.tables import activity_log

        connection.execute(delete(activity_log))
    user, now = f"r-{uuid.uuid4().hex[:6]}", utcnow_naive()
    PagesRepository(engine).record_activity(user, [Activity(page="reports", action="view", occurred_at=now - timedelta(days=d))
                                        for d in (1, 2, 3)])
    assert service.detect(StatisticalDetector())["queued"] == 1
    again = service.detect(StatisticalDetector())
    assert again["queued"] == 0 and again["nothing_queued"] == {"already_queued_or_fresh": 1}
