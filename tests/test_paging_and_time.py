"""The shared limit parser, cursor codec and time formats (chalicelib/paging.py, timeutil.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from chalicelib import paging, timeutil
from chalicelib.errors import BadRequest


@pytest.mark.parametrize(("raw", "expected"), [(None, 20), ("", 20), ("1", 1), ("100", 100), ("37", 37)])
def test_limit_in_range_or_default(raw: str | None, expected: int) -> None:
    assert paging.parse_limit(raw) == expected


@pytest.mark.parametrize("raw", ["0", "101", "-3", "ten", "2.5"])
def test_limit_out_of_range_is_a_400_naming_the_field(raw: str) -> None:
    with pytest.raises(BadRequest) as caught:
        paging.parse_limit(raw)
    assert caught.value.field == "limit"
    assert str(caught.value) == "limit must be an integer from 1 to 100"


def test_plain_cursor_round_trips_unpadded_url_safe_base64() -> None:
    value = ["2026-12-03T09:00:00.123456+00:00", "item-1"]
    cursor = paging.PLAIN.encode(value)
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor
    assert paging.PLAIN.decode(cursor) == value


@pytest.mark.parametrize("garbage", ["garbage!", "bm90IGpzb24", "%%%"])
def test_plain_cursor_rejects_garbage(garbage: str) -> None:
    with pytest.raises(paging.BadCursor):
        paging.PLAIN.decode(garbage)


def test_signed_cursor_refuses_a_forged_or_foreign_position() -> None:
    codec = paging.CursorCodec(b"secret-one")
    cursor = codec.encode({"after": 10})
    assert codec.decode(cursor) == {"after": 10}
    forged = paging.PLAIN.encode({"after": 0}) + "." + cursor.split(".")[1]
    for bad in (forged, cursor.split(".")[0], cursor + "x"):
        with pytest.raises(paging.BadCursor):
            codec.decode(bad)
    with pytest.raises(paging.BadCursor):
        paging.CursorCodec(b"secret-two").decode(cursor)


def test_time_formats() -> None:
    moment = datetime(2026, 12, 3, 9, 0, 1, 5, tzinfo=UTC)
    assert timeutil.iso(moment) == "2026-12-03T09:00:01.000005Z"
    assert timeutil.iso(moment.replace(tzinfo=None)) == "2026-12-03T09:00:01.000005Z"  # naive is UTC
    assert timeutil.iso(moment.astimezone(timezone(timedelta(hours=2)))) == "2026-12-03T09:00:01.000005Z"
    assert timeutil.iso_offset(moment) == "2026-12-03T09:00:01.000005+00:00"
    assert timeutil.iso_offset(moment.replace(microsecond=0)) == "2026-12-03T09:00:01+00:00"
    assert timeutil.iso_seconds(moment) == "2026-12-03T09:00:01Z"
    assert timeutil.from_epoch(0) == datetime(1970, 1, 1, tzinfo=UTC)
    for text in ("2026-12-03T09:00:01.000005Z", "2026-12-03T09:00:01.000005+00:00", "2026-12-03T11:00:01.000005+02:00"):
        assert timeutil.parse_iso(text) == moment
    with pytest.raises(ValueError):
        timeutil.parse_iso("yesterday")


def test_clock_is_utc() -> None:
    assert timeutil.utcnow().tzinfo is UTC
    assert timeutil.utcnow_naive().tzinfo is None
    assert abs(timeutil.utcnow().replace(tzinfo=None) - timeutil.utcnow_naive()) < timedelta(seconds=5)
    assert len(timeutil.now_iso()) == len("2026-12-03T09:00:01.000005Z")
