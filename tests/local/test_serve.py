"""`make run`'s start time: "ready in N s" counts from make's start, else the process's."""

from __future__ import annotations

import time

from localdev.serve import STARTED_ENV, started_at


def test_ready_counts_from_when_make_began() -> None:
    assert started_at({STARTED_ENV: "1796283744.909640476"}) == 1796283744.909640476
    assert started_at({STARTED_ENV: "1796283744.N"}) == 1796283744  # a date without %N


def test_without_make_it_counts_from_the_process_start() -> None:
    began = started_at({STARTED_ENV: ""})
    assert time.time() - 3600 < began <= time.time()  # this pytest process began before now
    assert abs(started_at({STARTED_ENV: "junk"}) - began) < 0.1


def test_start_up_says_once_what_the_offline_providers_can_do(monkeypatch, caplog) -> None:  # noqa: ANN001
    """With their packages missing, the stand-ins' reduced abilities are said at start-up."""
    import importlib.util
    import logging

    from chalicelib.providers import offline_vision
    from localdev import serve

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("rapidocr_onnxruntime", "wordllama") else real_find_spec(name, *a))
    monkeypatch.setattr(offline_vision, "_engine_error", None)
    with caplog.at_level(logging.INFO, logger="local.serve"):
        serve._say_what_offline_providers_can_do()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "rapidocr-onnxruntime is not installed; images are analysed from their features only" in warnings[0]
    assert "wordllama is not installed; embeddings fall back to feature hashing" in warnings[1]
    caplog.clear()
    monkeypatch.setattr(importlib.util, "find_spec", real_find_spec)
    with caplog.at_level(logging.INFO, logger="local.serve"):
        serve._say_what_offline_providers_can_do()
    assert [r.getMessage() for r in caplog.records] == [
        "offline providers: OCR (rapidocr-onnxruntime) and WordLlama embeddings available"]
