"""A model answer that misses a field or has one of the wrong shape does not end the item: it is
repaired where that is safe, else asked for once more with the validation error; the item fails
only when the second answer is unusable too. Each outcome is counted in an EMF metric."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.collections.analysis_repair import repair
from chalicelib.collections.analysis_schema import ANALYSIS_SCHEMA
from chalicelib.providers.base import SchemaMismatch, validate
from tests.collections import images
from tests.collections.conftest import get_item, upload
from tests.conftest import auth_headers
from tests.fakes import anthropic_server as fake

GOOD: dict[str, Any] = {
    "category": "food",
    "subcategories": ["ramen"],
    "headline": "Ramen shop menu in Fukuoka",
    "summary": "A screenshot of a ramen shop's menu with prices.",
    "image_details": {"extracted_text": "Ichiran\nTonkotsu 980 yen", "objects": ["bowl", "menu"],
                      "themes": ["food"]},
    "media_metadata": {"image_type": "screenshot", "platform": "Instagram"},
}


def _broken(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    for path, value in changes.items():
        target = data
        *parents, leaf = path.split("__")
        for parent in parents:
            target = target[parent]
        if value is _MISSING:
            del target[leaf]
        else:
            target[leaf] = value
    return data


_MISSING = object()


def _script(claude, *answers: dict[str, Any]) -> None:  # noqa: ANN001
    for answer in answers:
        claude.reply(200, answer)


def _prompt(request) -> str:  # noqa: ANN001
    return " ".join(b.get("text", "") for b in request.body["messages"][0]["content"] if b.get("type") == "text")


def _outputs(local_env: Path) -> list[dict[str, Any]]:
    path = local_env / "metrics.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [line for line in lines if line.get("msg") == "analysis output"]


def _run(client, user, real_sdks) -> tuple[str, dict]:  # noqa: ANN001
    item_id = upload(client, user, images.jpeg((1200, 900), "red"))
    wiring.local_runtime().drain()
    return item_id, get_item(client, user, item_id).json_body


# --- through the pipeline, with the real SDK and a fake Anthropic server -----------------------


def test_a_repairable_answer_is_repaired_without_asking_again(client, user, real_sdks, local_env) -> None:  # noqa: ANN001
    claude, voyage = real_sdks
    _script(claude, fake.tool_use(_broken(
        image_details__extracted_text=["Ichiran", "Tonkotsu 980 yen"],  # a list where text is asked
        image_details__objects="bowl, menu, chopsticks",  # text where a list is asked
        media_metadata=_MISSING,  # a required object whose fields all have safe defaults
    )))
    item_id, item = _run(client, user, real_sdks)
    assert item["status"] == "ready", item
    stored = item["latest_analysis"]["analysis"]
    assert stored["image_details"]["extracted_text"] == "Ichiran\nTonkotsu 980 yen"
    assert stored["image_details"]["objects"] == ["bowl", "menu", "chopsticks"]
    assert stored["media_metadata"] == {"image_type": "other"}
    assert len(claude.requests) == 1
    [metric] = _outputs(local_env)
    assert (metric["output"], metric["AnalysisRepaired"], metric["AnalysisReasked"], metric["AnalysisUnusable"]) == \
        ("repaired", 1, 0, 0)
    assert len(voyage.requests) == 1  # embedded like any other analysis


def test_a_broken_first_answer_is_asked_again_with_the_error(client, user, real_sdks, local_env) -> None:  # noqa: ANN001
    claude, _ = real_sdks
    _script(claude, fake.tool_use(_broken(headline=_MISSING)), fake.tool_use(GOOD))
    item_id, item = _run(client, user, real_sdks)
    assert item["status"] == "ready" and item["error"] is None, item
    assert item["latest_analysis"]["analysis"]["headline"] == GOOD["headline"]
    assert item["latest_analysis"]["version"] == 1
    assert len(claude.requests) == 2
    first, second = (_prompt(r) for r in claude.requests)
    assert "could not be used" not in first
    assert "could not be used" in second and "'headline' is a required property" in second
    assert claude.requests[1].body["messages"][0]["content"][0]["type"] == "image"  # the image again
    [metric] = _outputs(local_env)
    assert (metric["output"], metric["AnalysisReasked"], metric["AnalysisUnusable"]) == ("reasked", 1, 0)


def test_two_unusable_answers_fail_the_item_and_write_nothing(client, user, real_sdks, local_env) -> None:  # noqa: ANN001
    claude, voyage = real_sdks
    _script(claude, fake.tool_use(_broken(summary=_MISSING)), fake.tool_use(_broken(category="")))
    item_id, item = _run(client, user, real_sdks)
    assert item["status"] == "failed" and item["latest_analysis"] is None
    assert "asked twice" in item["error"] and "summary" in item["error"] and "category" in item["error"]
    analyses = client.http.get(f"/items/{item_id}/analyses", headers=auth_headers(user)).json_body
    assert analyses["analyses"] == []
    assert len(claude.requests) == 2 and voyage.requests == []
    [metric] = _outputs(local_env)
    assert (metric["output"], metric["AnalysisUnusable"], metric["AnalysisReasked"]) == ("unusable", 1, 0)


def test_a_cut_answer_is_asked_again(client, user, real_sdks) -> None:  # noqa: ANN001
    claude, _ = real_sdks
    _script(claude, fake.max_tokens_cut({"category": "food"}), fake.tool_use(GOOD))
    _, item = _run(client, user, real_sdks)
    assert item["status"] == "ready"
    assert "max_tokens" in _prompt(claude.requests[1])


def test_a_refusal_is_not_asked_again(client, user, real_sdks, local_env) -> None:  # noqa: ANN001
    claude, _ = real_sdks
    _script(claude, fake.refusal(), fake.tool_use(GOOD))
    _, item = _run(client, user, real_sdks)
    assert item["status"] == "failed" and "refused" in item["error"]
    assert len(claude.requests) == 1
    assert _outputs(local_env)[0]["AnalysisUnusable"] == 1


# --- the repairs on their own -----------------------------------------------------------------


def test_repairs_keep_what_the_model_said() -> None:
    broken = {
        "category": ["Food", "travel"],
        "subcategories": "ramen; noodles",
        "headline": 2024,
        "summary": ["A menu.", "Prices in yen."],
        "image_details": json.dumps({"extracted_text": None, "objects": ["bowl", None, "", 7], "themes": []}),
    }
    fixed = repair(broken, ANALYSIS_SCHEMA)
    validate(fixed.value, ANALYSIS_SCHEMA)
    assert fixed.value["category"] == "Food"
    assert fixed.value["subcategories"] == ["ramen", "noodles"]
    assert fixed.value["headline"] == "2024"
    assert fixed.value["summary"] == "A menu. Prices in yen."
    assert fixed.value["image_details"] == {"extracted_text": "", "objects": ["bowl", "7"], "themes": []}
    assert fixed.value["media_metadata"] == {"image_type": "other"}
    assert len(fixed.changes) >= 7
    assert broken["subcategories"] == "ramen; noodles"  # the input is not modified


def test_over_long_fields_are_cut_at_a_word() -> None:
    fixed = repair({**GOOD, "headline": "word " * 100, "subcategories": [f"s{i}" for i in range(40)]},
                   ANALYSIS_SCHEMA)
    validate(fixed.value, ANALYSIS_SCHEMA)
    assert len(fixed.value["headline"]) <= 300 and fixed.value["headline"].endswith("word")
    assert len(fixed.value["subcategories"]) == 10


def test_nothing_is_invented_for_fields_without_a_default() -> None:
    for field in ("category", "headline", "summary"):
        data = {k: v for k, v in GOOD.items() if k != field}
        fixed = repair(data, ANALYSIS_SCHEMA)
        assert field not in fixed.value
        with pytest.raises(SchemaMismatch, match=field):
            validate(fixed.value, ANALYSIS_SCHEMA)
    with pytest.raises(SchemaMismatch, match="summary"):
        validate(repair({**GOOD, "summary": ""}, ANALYSIS_SCHEMA).value, ANALYSIS_SCHEMA)


def test_a_valid_answer_is_left_alone() -> None:
    fixed = repair(GOOD, ANALYSIS_SCHEMA)
    assert fixed.value == GOOD and fixed.changes == []
