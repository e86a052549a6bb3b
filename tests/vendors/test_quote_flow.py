"""The offline concierge end to end: POST /tasks, the worker e-mails vendors from the sample
directory through the local outbox, vendors answer once through their signed link, and the task
record counts exactly those effects."""

from __future__ import annotations

import json
import time

import pytest

from chalicelib import settings
from tests.vendors.helpers import get_task, link_paths, outbox, run_task

JOB = "Find me a landscaper in Charlotte under $300: weekly mowing of a small front lawn"


def test_the_worker_emails_the_sample_vendors_and_records_only_that(client, user, local_env) -> None:  # noqa: ANN001
    task = run_task(client, user, JOB)
    assert task["status"] == "completed" and task["provider_used"] == "offline"
    messages = outbox(local_env)
    assert len(messages) == 3 == task["emails_sent"]
    assert {m["to"] for m in messages} == {v["email"] for v in task["vendors"]}
    assert all(v["source"] == "sample" and "landscaping" in v["trades"] and "charlotte" in v["areas"]
               and v["status"] == "sent" for v in task["vendors"])
    assert task["quotes"] == []
    assert all("mowing of a small front lawn" in m["body"] for m in messages)
    assert len(link_paths(messages)) == 3


def test_a_vendor_answers_once_and_the_quote_lands_on_the_task(client, user, local_env) -> None:  # noqa: ANN001
    task = run_task(client, user, JOB)
    vendor = task["vendors"][0]
    path = link_paths(outbox(local_env))[vendor["email"]]

    seen = client.http.get(path, headers={"Accept": "application/json"})
    assert seen.status_code == 200
    assert seen.json_body == {"vendor": vendor["name"], "description": JOB, "expires_at": seen.json_body["expires_at"],
                              "answered": False, "quote": None}
    assert seen.headers["Referrer-Policy"] == "no-referrer"

    answer = {"price": 280.5, "currency": "usd", "note": "Can start Monday"}
    given = client.http.post(path, headers={"Content-Type": "application/json"}, body=json.dumps(answer))
    assert given.status_code == 200, given.body
    assert given.json_body["quote"]["price"] == 280.5 and given.json_body["quote"]["currency"] == "USD"

    again = client.http.post(path, headers={"Content-Type": "application/json"}, body=json.dumps(answer))
    assert again.status_code == 409 and again.json_body["error"]["code"] == "conflict"

    after = get_task(client, user, task["id"])
    assert after["emails_sent"] == 3 and after["status"] == "completed"
    assert [(q["vendor_id"], q["price"], q["currency"], q["note"]) for q in after["quotes"]] == [
        (vendor["id"], 280.5, "USD", "Can start Monday")]
    assert after["events"][-1] == {**after["events"][-1], "type": "success",
                                   "message": f"Quote received from {vendor['name']}: 280.50 USD"}
    answered = next(v for v in after["vendors"] if v["id"] == vendor["id"])
    assert answered["status"] == "answered"


def _altered(path: str) -> list[str]:
    prefix, token = path.rsplit("/", 1)
    request_id, expires, signature = token.split(".")
    flip = "A" if signature[0] != "A" else "B"
    return [
        f"{prefix}/{request_id}.{expires}.{flip}{signature[1:]}",  # signature
        f"{prefix}/{request_id}.{int(expires) + 3600}.{signature}",  # a later expiry
        f"{prefix}/{request_id[:-1]}{'0' if request_id[-1] != '0' else '1'}.{expires}.{signature}",  # another id
        f"{prefix}/{request_id}.{expires}",  # truncated
        f"{prefix}/not-a-token",
    ]


def test_altered_links_are_403_and_change_nothing(client, user, local_env) -> None:  # noqa: ANN001
    task = run_task(client, user, JOB)
    paths = list(link_paths(outbox(local_env)).values())
    # Another vendor's request id with this vendor's signature: bound to one vendor and task.
    other_id = paths[1].rsplit("/", 1)[1].split(".")[0]
    prefix, token = paths[0].rsplit("/", 1)
    swapped = f"{prefix}/{other_id}.{token.split('.', 1)[1]}"
    for bad in [*_altered(paths[0]), swapped]:
        assert client.http.get(bad, headers={"Accept": "application/json"}).status_code == 403, bad
        posted = client.http.post(bad, headers={"Content-Type": "application/json"},
                                  body=json.dumps({"price": 1, "currency": "USD"}))
        assert posted.status_code == 403, bad
    assert get_task(client, user, task["id"])["quotes"] == []


def test_an_expired_link_is_410(client, user, local_env, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("QUOTE_LINK_TTL_SECONDS", "1")
    settings.get_settings.cache_clear()
    run_task(client, user, JOB)
    path = next(iter(link_paths(outbox(local_env)).values()))
    time.sleep(1.1)
    assert client.http.get(path, headers={"Accept": "application/json"}).status_code == 410
    late = client.http.post(path, headers={"Content-Type": "application/json"},
                            body=json.dumps({"price": 10, "currency": "USD"}))
    assert late.status_code == 410 and late.json_body["error"]["code"] == "gone"


@pytest.mark.parametrize(("answer", "field"), [
    ({"currency": "USD"}, "price"), ({"price": 0, "currency": "USD"}, "price"),
    ({"price": -5, "currency": "USD"}, "price"), ({"price": "abc", "currency": "USD"}, "price"),
    ({"price": True, "currency": "USD"}, "price"), ({"price": 1e12, "currency": "USD"}, "price"),
    ({"price": 12.345, "currency": "USD"}, "price"), ({"price": "NaN", "currency": "USD"}, "price"),
    ({"price": 10}, "currency"), ({"price": 10, "currency": "US"}, "currency"),
    ({"price": 10, "currency": "USD", "note": "x" * 2001}, "note"),
    ({"price": 10, "currency": "USD", "note": 5}, "note"),
    ({"price": 10, "currency": "USD", "task_id": "someone-else"}, "task_id"),
])
def test_bad_quotes_are_400_naming_the_field(client, user, local_env, answer, field) -> None:  # noqa: ANN001
    run_task(client, user, JOB)
    path = next(iter(link_paths(outbox(local_env)).values()))
    response = client.http.post(path, headers={"Content-Type": "application/json"}, body=json.dumps(answer))
    assert response.status_code == 400 and response.json_body["error"]["field"] == field
    # Nothing was used up: a good answer still goes through.
    ok = client.http.post(path, headers={"Content-Type": "application/json"},
                          body=json.dumps({"price": 99, "currency": "EUR"}))
    assert ok.status_code == 200


def test_the_html_form_escapes_everything_and_runs_no_script(client, user, local_env) -> None:  # noqa: ANN001
    description = ('Find me a landscaper in Charlotte <script>alert("x")</script> & <img src=x onerror=alert(1)>')
    task = run_task(client, user, description)
    vendor = task["vendors"][0]
    path = link_paths(outbox(local_env))[vendor["email"]]
    page = client.http.get(path, headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.body.decode() if isinstance(page.body, bytes) else page.body
    assert "<script" not in html and "<img" not in html and "onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "form-action 'self'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"

    form = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}
    bad = client.http.post(path, headers=form, body="price=-1&currency=USD&note=")
    assert bad.status_code == 400 and b"price must be more than 0" in bad.body and b"<form" in bad.body
    given = client.http.post(path, headers=form, body="price=310&currency=usd&note=%3Cb%3Enext+week%3C%2Fb%3E")
    assert given.status_code == 200 and b"&lt;b&gt;next week&lt;/b&gt;" in given.body and b"<b>" not in given.body
    used = client.http.post(path, headers=form, body="price=310&currency=usd")
    assert used.status_code == 409 and b"<form" not in used.body
    quote = get_task(client, user, task["id"])["quotes"][0]
    assert quote["note"] == "<b>next week</b>" and quote["price"] == 310 and quote["currency"] == "USD"


def test_a_task_naming_no_known_area_contacts_no_one(client, user, local_env) -> None:  # noqa: ANN001
    task = run_task(client, user, "Find me a plumber in Atlantis")
    assert task["status"] == "completed" and task["emails_sent"] == 0 and task["vendors"] == []
    assert "no vendor was contacted" in task["agent_response"]
    assert outbox(local_env) == []
