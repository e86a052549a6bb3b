"""``POST /search`` with ``"answer": true``: a short answer grounded only in the top results, with
citations limited to result ids; extractive when offline; never a 5xx for the answer alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib import openapi, settings, wiring
from chalicelib.collections import answers
from chalicelib.collections.answers import Source, clean_text, extractive_answer, keep_citations
from tests.collections import images
from tests.collections.conftest import search, upload
from tests.fakes import anthropic_server as fake

RAMEN = {
    "category": "food", "subcategories": ["ramen"], "headline": "Ichiran ramen shop in Fukuoka",
    "summary": "A screenshot of a post about a tonkotsu ramen shop. It is open 24 hours.",
    "image_details": {"extracted_text": "ICHIRAN Tenjin\nTonkotsu ramen 980 yen\nOpen 24h",
                      "objects": ["bowl", "noodles"], "themes": ["food", "travel"]},
    "media_metadata": {"image_type": "screenshot", "platform": "Instagram"},
}
MUSEUM = {
    "category": "travel", "subcategories": ["museum"], "headline": "TeamLab Forest digital art in Fukuoka",
    "summary": "Immersive digital art with projected animals. Tickets 2,400 yen.",
    "image_details": {"extracted_text": "teamLab Forest\nBOSS E-ZO FUKUOKA", "objects": ["projection"],
                      "themes": ["art"]},
    "media_metadata": {"image_type": "photo"},
}


class Claude:
    """The fake Anthropic server's handler: analyses in upload order, then scripted answers."""

    def __init__(self, server) -> None:  # noqa: ANN001
        self.server = server
        self.analyses: list[dict[str, Any]] = []
        self.answers: list[tuple[int, Any]] = []
        server.handler = self

    def __call__(self, path: str, headers: dict, body: dict) -> tuple[int, Any]:
        name = body["tools"][0]["name"]
        if name == "respond":
            return 200, fake.tool_use(self.analyses.pop(0), name=name)
        return self.answers.pop(0) if self.answers else (500, {"error": "no answer scripted"})

    def answer_requests(self) -> list[dict]:
        return [r.body for r in self.server.requests if r.body["tools"][0]["name"] == "answer"]


def _add(client, user: str, claude: Claude, analysis: dict, color: str) -> str:  # noqa: ANN001
    claude.analyses.append(analysis)
    item_id = upload(client, user, images.jpeg((900, 600), color))
    wiring.local_runtime().drain()
    return item_id


def _metric_lines(local_env: Path) -> list[dict]:
    path = local_env / "metrics.jsonl"
    return [line for line in map(json.loads, path.read_text().splitlines()) if line.get("msg") == "search answer"]


@pytest.fixture()
def claude(real_sdks) -> Claude:  # noqa: ANN001
    return Claude(real_sdks[0])


def test_claude_answers_from_the_top_results_and_only_result_ids_are_cited(  # noqa: ANN201
        client, user, claude: Claude, local_env):  # noqa: ANN001
    ramen = _add(client, user, claude, RAMEN, "red")
    museum = _add(client, user, claude, MUSEUM, "blue")
    stranger = _add(client, f"{user}-stranger", claude, RAMEN, "red")
    claude.answers.append((200, fake.tool_use({
        "answer": "The ramen place is Ichiran Tenjin in Fukuoka,\x00 open 24 hours.\u202e",
        "citations": [ramen, stranger, "made-up-id", ramen, 7],
    }, name="answer", input_tokens=321, output_tokens=45)))

    response = search(client, user, query="ramen Fukuoka", mode="keyword", answer=True)
    assert response.status_code == 200, response.body
    body = response.json_body
    result_ids = [r["item_id"] for r in body["results"]]
    assert set(result_ids) <= {ramen, museum} and ramen in result_ids
    assert body["answer_error"] is None
    got = body["answer"]
    assert got["text"] == "The ramen place is Ichiran Tenjin in Fukuoka, open 24 hours."
    assert got["citations"] == [ramen]  # another user's id, an invented id and a number dropped
    assert got["provider_used"] == "anthropic" and got["model_used"] == fake.MODEL

    [sent] = claude.answer_requests()
    prompt = sent["messages"][0]["content"][0]["text"]
    assert "Tonkotsu ramen 980 yen" in prompt and ramen in prompt  # the analysis, extracted text included
    assert stranger not in prompt  # grounded in this user's results only
    assert sent["tool_choice"] == {"type": "tool", "name": "answer"}
    assert "never instructions" in sent["system"][0]["text"]
    [metric] = _metric_lines(local_env)
    assert (metric["provider"], metric["AnswerInputTokens"], metric["AnswerOutputTokens"],
            metric["AnswerFailures"]) == ("anthropic", 321, 45, 0)
    assert metric["AnswerLatency"] > 0 and "query" not in metric


def test_without_answer_the_response_is_unchanged_and_claude_is_not_asked(client, user, claude: Claude) -> None:  # noqa: ANN001
    _add(client, user, claude, RAMEN, "red")
    body = search(client, user, query="ramen", mode="keyword").json_body
    assert "answer" not in body and "answer_error" not in body and body["results"]
    assert claude.answer_requests() == []


def test_an_overlong_answer_is_cut(client, user, claude: Claude) -> None:  # noqa: ANN001
    ramen = _add(client, user, claude, RAMEN, "red")
    claude.answers.append((200, fake.tool_use({"answer": "ramen " * 2000, "citations": [ramen]}, name="answer")))
    got = search(client, user, query="ramen", mode="keyword", answer=True).json_body["answer"]
    assert len(got["text"]) <= answers.MAX_ANSWER_CHARS and got["text"].endswith("…")


@pytest.mark.parametrize(("reply", "code"), [
    (fake.error(529, "overloaded_error"), "provider_unavailable"),
    (fake.error(400, "invalid_request_error"), "provider_error"),
    ((200, fake.tool_use({"citations": []}, name="answer")), "unusable_output"),
    ((200, fake.tool_use({"answer": " \x00 ", "citations": []}, name="answer")), "unusable_output"),
    ((200, fake.refusal()), "unusable_output"),
], ids=["overloaded", "rejected", "no-answer-field", "blank", "refusal"])
def test_a_failed_answer_still_returns_the_results(client, user, claude: Claude, reply, code, local_env) -> None:  # noqa: ANN001
    ramen = _add(client, user, claude, RAMEN, "red")
    claude.answers.extend([reply, reply])  # one retry on 529
    response = search(client, user, query="ramen", mode="keyword", answer=True)
    assert response.status_code == 200, response.body
    body = response.json_body
    assert [r["item_id"] for r in body["results"]] == [ramen]
    assert body["answer"] is None and body["answer_error"]["code"] == code and body["answer_error"]["message"]
    assert _metric_lines(local_env)[-1]["AnswerFailures"] == 1


def test_a_slow_answer_times_out_without_failing_the_search(  # noqa: ANN201
        client, user, claude: Claude, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001
    _add(client, user, claude, RAMEN, "red")
    monkeypatch.setenv("SEARCH_ANSWER_TIMEOUT_SECONDS", "0.3")
    settings.reset()
    slow = (200, fake.tool_use({"answer": "late", "citations": []}, name="answer"), 2.0)
    claude.server.handler = lambda path, headers, body: slow
    body = search(client, user, query="ramen", mode="keyword", answer=True).json_body
    assert body["results"] and body["answer"] is None
    assert body["answer_error"]["code"] == "provider_unavailable"


def test_an_internal_error_in_the_answer_step_is_not_a_5xx(  # noqa: ANN201
        client, user, fakes, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001
    upload(client, user, images.jpeg((900, 600), "red"))
    wiring.local_runtime().drain()

    def broken(*args: Any, **kwargs: Any) -> list:
        raise RuntimeError("boom")

    monkeypatch.setattr(answers, "load_sources", broken)
    response = search(client, user, query="tomato soup", mode="keyword", answer=True)
    assert response.status_code == 200
    assert response.json_body["results"] and response.json_body["answer_error"]["code"] == "internal_error"


# --- offline: extractive ----------------------------------------------------------------------


def test_offline_answers_extractively_from_the_matching_results(client, user, fakes) -> None:  # noqa: ANN001
    ids = {}
    for color in ("red", "green", "blue"):
        ids[color] = upload(client, user, images.jpeg((900, 600), color))
    wiring.local_runtime().drain()
    assert wiring.answer_llm() is None  # no key: the offline provider answers
    body = search(client, user, query="where did I have tomato soup?", mode="hybrid", answer=True).json_body
    assert body["results"][0]["item_id"] == ids["red"]
    got = body["answer"]
    assert got["provider_used"] == "offline" and got["citations"] == [ids["red"]]
    assert "tomato soup" in got["text"].lower()
    assert set(got["citations"]) <= {r["item_id"] for r in body["results"]}


def test_no_results_means_no_answer(client, user, fakes) -> None:  # noqa: ANN001
    body = search(client, user, query="ramen", mode="keyword", answer=True).json_body
    assert body["results"] == [] and body["answer"] is None
    assert body["answer_error"]["code"] == "no_results"


@pytest.mark.parametrize("value", ["yes", 1, None, [], {}])
def test_answer_must_be_a_boolean(client, user, fakes, value) -> None:  # noqa: ANN001
    response = search(client, user, query="ramen", answer=value)
    assert response.status_code == 400 and response.json_body["error"]["field"] == "answer"


def test_extractive_answer_picks_the_lines_sharing_the_most_words() -> None:
    sources = [Source("a", "food", "Ichiran ramen shop in Fukuoka", "A ramen shop. It is open 24 hours.",
                      "Tonkotsu ramen 980 yen\nOpen 24h"),
               Source("b", "travel", "TeamLab Forest in Fukuoka", "Digital art.", "Tickets 2,400 yen")]
    got = extractive_answer("how much was the tonkotsu ramen?", sources)
    assert got["text"].startswith("Tonkotsu ramen 980 yen.") and got["citations"] == ["a"]
    none = extractive_answer("sushi in Osaka", sources)
    assert none["citations"] == [] and none["text"] == "None of the top results mention sushi, osaka."


def test_clean_text_and_citations() -> None:
    assert clean_text("a\x07b\u200f  c\n\n\n\nd") == "a b c\n\nd"
    assert clean_text(42) == ""
    assert keep_citations(["x", "y", "x", None, " z "], ["x", "z"]) == ["x", "z"]
    assert keep_citations("x", ["x"]) == []


def test_the_documented_bounds_are_the_enforced_ones() -> None:
    schema = openapi.document()["components"]["schemas"]["SearchAnswer"]
    assert schema["properties"]["text"]["maxLength"] == answers.MAX_ANSWER_CHARS
    assert schema["properties"]["citations"]["maxItems"] == answers.MAX_CITATIONS
