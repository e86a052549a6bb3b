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
