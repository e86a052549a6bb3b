"""Claude drives the tools through Anthropic tool use (the real SDK against the fake server):
the task record keeps what the tools did, whatever the model claims."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from chalicelib import settings, wiring
from tests.fakes import anthropic_server as fake
from tests.fakes.server import FakeServer
from tests.vendors.helpers import outbox, run_task

JOB = "Find me a landscaper in Charlotte under $300"
CLAIM = ("I e-mailed 5 landscapers in Charlotte. Green Co quoted $280 and Leafy quoted $250; "
         "emails_sent: 5. Booked Green Co for Monday.")


@pytest.fixture()
def model(monkeypatch: pytest.MonkeyPatch, local_env) -> Iterator[FakeServer]:  # noqa: ANN001
    with FakeServer() as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        settings.reset()
        wiring.set_app(__import__("app").app)
        yield server


def _first_vendors(body: dict, n: int) -> list[str]:
    found = fake.tool_results(body)[0]["content"]
    return [v["id"] for v in found["vendors"][:n]]


def test_a_model_claiming_actions_it_never_took_records_none(client, user, model, local_env) -> None:  # noqa: ANN001
    model.handler = fake.ToolScript(fake.text(CLAIM))
    task = run_task(client, user, JOB)
    assert task["status"] == "completed" and task["provider_used"] == "anthropic"
    assert task["agent_response"].startswith("I e-mailed 5 landscapers")  # its words, kept as its words
    assert task["emails_sent"] == 0 and task["vendors"] == [] and task["quotes"] == []
    assert outbox(local_env) == []
    sent = model.requests[0].body
    assert {t["name"] for t in sent["tools"]} == {"find_vendors", "request_quote"}
    assert "tool_choice" not in sent and "<task>" in sent["messages"][0]["content"][0]["text"]


def test_claude_acts_through_the_tools_and_the_record_counts_only_what_happened(  # noqa: ANN201
        client, user, model, local_env):  # noqa: ANN001
    script = fake.ToolScript(
        fake.tool_calls(("find_vendors", {"trade": "landscaper", "area": "Charlotte"})),
        lambda body: fake.tool_calls(
            ("request_quote", {"vendor": _first_vendors(body, 1)[0], "message": "Weekly mowing, small lawn."}),
            ("request_quote", {"vendor": "00000000-0000-0000-0000-000000000000", "message": "An invented vendor"}),
            ("request_quote", {"vendor": _first_vendors(body, 2)[1], "message": "See https://evil.example/pay"}),
            ("send_money", {"to": "someone"}),
        ),
        fake.text(CLAIM),
    )
    model.handler = script
    task = run_task(client, user, JOB)
    assert task["status"] == "completed" and task["agent_response"].startswith("I e-mailed 5")
    assert task["emails_sent"] == 1 and len(task["vendors"]) == 1 and task["quotes"] == []
    assert [m["to"] for m in outbox(local_env)] == [task["vendors"][0]["email"]]
    results = fake.tool_results(script.bodies[2])
    assert [r["is_error"] for r in results] == [False, True, True, True]
    assert results[0]["content"]["status"] == "sent"
    assert "not returned by find_vendors" in results[1]["content"]["error"]
    assert "must not contain links" in results[2]["content"]["error"]
    assert "unknown tool" in results[3]["content"]["error"]
    found = fake.tool_results(script.bodies[1])[0]["content"]
    assert found["count"] == 3 and all("email" not in v for v in found["vendors"])  # the model never sees e-mails


def test_the_loop_stops_at_the_step_limit(client, user, model, local_env, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("AGENT_MAX_STEPS", "2")
    settings.get_settings.cache_clear()
    wiring.reset()
    wiring.set_app(__import__("app").app)
    again = fake.tool_calls(("find_vendors", {"trade": "landscaping", "area": "charlotte"}))
    model.handler = fake.ToolScript(again, again, again, again)
    task = run_task(client, user, JOB)
    assert len(model.requests) == 2
    assert task["status"] == "completed" and "[stopped after 2 model turns (AGENT_MAX_STEPS)]" in task["agent_response"]
    assert task["emails_sent"] == 0


def test_the_loop_starts_no_turn_past_the_deadline(local_env) -> None:  # noqa: ANN001
    from chalicelib.providers.claude import ClaudeAgent
    from chalicelib.vendors.handlers import toolbox

    class NoModel:
        provider = "anthropic"

        def agent_turn(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            raise AssertionError("no turn may start this close to the deadline")

    tools = toolbox("00000000-0000-4000-8000-000000000001", JOB, lambda message, kind: None)
    result = ClaudeAgent(NoModel(), max_steps=5).run("t", JOB, tools=tools, deadline=time.monotonic() + 5)
    assert "stopped before turn 1" in result.response_text and tools.calls == []


def test_an_outage_mid_loop_requeues_and_no_vendor_is_e_mailed_twice(client, user, model, local_env) -> None:  # noqa: ANN001
    """Claude goes down after a quote request went out: the task returns to pending and the
    retried run asks the same vendor again, which sends no second e-mail."""
    first_run = [
        fake.tool_calls(("find_vendors", {"trade": "landscaping", "area": "charlotte"})),
        lambda body: fake.tool_calls(("request_quote", {"vendor": _first_vendors(body, 1)[0], "message": "Mowing"})),
    ]
    calls = {"n": 0}
    script = fake.ToolScript(*first_run)

    def handler(path, headers, body):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] == 3:
            return fake.error(529, "overloaded_error")
        if calls["n"] >= 4:  # the retried invocation: the same steps again, then done
            steps = first_run + [fake.text("Asked Charlotte Green for a quote.")]
            index = calls["n"] - 4
            step = steps[index] if index < len(steps) else fake.text("Done.")
            return 200, step(body) if callable(step) else step
        return script(path, headers, body)

    model.handler = handler
    monkeypatch_retries = wiring.llm()
    monkeypatch_retries._client = monkeypatch_retries._client.with_options(max_retries=0)  # noqa: SLF001
    task = run_task(client, user, JOB)
    assert task["status"] == "completed", task
    assert any("will retry" in e["message"] for e in task["events"])
    assert task["emails_sent"] == 1 and len(outbox(local_env)) == 1
