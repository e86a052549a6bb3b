"""Schedule expressions as AWS reads them: ``rate(5 minutes)`` and 6-field ``cron(...)``.

AWS cron fields are ``minutes hours day-of-month month day-of-week year``; one of the two day
fields is ``?``; day-of-week runs 1-7 = SUN-SAT (or names), ``L`` and ``#`` as in AWS. They are
translated to 5-field croniter expressions (day-of-week 0-6 = SUN-SAT); the year is filtered here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from croniter import croniter

_RATE_RE = re.compile(r"^rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)$", re.IGNORECASE)
_CRON_RE = re.compile(r"^cron\((.*)\)$", re.IGNORECASE)
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MAX_SCAN = 2000


class _HasToString(Protocol):
    def to_string(self) -> str: ...


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: either a fixed ``interval`` (rate) or a croniter ``cron`` + ``years``."""

    expression: str
    interval: float | None = None
    cron: str | None = None
    years: str = "*"

    def next_after(self, t: float) -> float | None:
        """The first fire time strictly after ``t`` (epoch seconds), None if it never fires again."""
        if self.interval is not None:
            return t + self.interval
        it = croniter(self.cron, datetime.fromtimestamp(t, UTC))
        for _ in range(_MAX_SCAN):
            candidate: float = it.get_next(float)
            year = datetime.fromtimestamp(candidate, UTC).year
            if _year_ok(self.years, year):
                return candidate
            allowed = next((y for y in range(year + 1, 2200) if _year_ok(self.years, y)), None)
            if allowed is None:
                return None
            # Jump to the first allowed year instead of scanning every fire in between.
            start = datetime(allowed, 1, 1, tzinfo=UTC).timestamp() - 1
            it = croniter(self.cron, datetime.fromtimestamp(start, UTC))
        return None

    def latest_due(self, last: float, now: float) -> float | None:
        """The latest fire time in ``(last, now]``, or None if nothing is due. Missed fires
        (the runtime was down) collapse into this one, as a late CloudWatch rule would."""
        first = self.next_after(last)
        if first is None or first > now:
            return None
        if self.interval is not None:
            return last + math.floor((now - last) / self.interval) * self.interval
        it = croniter(self.cron, datetime.fromtimestamp(now + 1e-3, UTC))
        for _ in range(_MAX_SCAN):
            candidate: float = it.get_prev(float)
            if candidate <= first:
                return first
            if _year_ok(self.years, datetime.fromtimestamp(candidate, UTC).year):
                return candidate
        return first


def expression_string(expression: str | _HasToString) -> str:
    """``chalice.app.Rate``/``Cron`` objects or strings, as the string AWS receives."""
    return expression if isinstance(expression, str) else expression.to_string()


def parse_schedule(expression: str | _HasToString) -> Schedule:
    """Parse ``rate(...)``/``cron(...)`` (or a Chalice Rate/Cron); ValueError says what is wrong."""
    text = expression_string(expression).strip()
    rate = _RATE_RE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2).lower().rstrip("s")
        if value < 1:
            raise ValueError(f"rate must be positive: {text!r}")
        return Schedule(text, interval=float(value * _UNIT_SECONDS[unit]))
    cron = _CRON_RE.match(text)
    if not cron:
        raise ValueError(f"schedule must be rate(...) or cron(...), got {text!r}")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise ValueError(f"AWS cron takes 6 fields (min hour day-of-month month day-of-week year), got {text!r}")
    minutes, hours, dom, month, dow, year = fields
    if "W" in dom.upper() and dom.upper() != "W":
        raise ValueError(f"cron 'W' (nearest weekday) is not supported by the local runtime: {text!r}")
    dom = "*" if dom == "?" else dom
    dow = "*" if dow == "?" else _translate_dow(dow)
    translated = f"{minutes} {hours} {dom} {month} {dow}"
    if not croniter.is_valid(translated):
        raise ValueError(f"invalid cron expression {text!r} (as croniter: {translated!r})")
    return Schedule(text, cron=translated, years=year)


def _translate_dow(field: str) -> str:
    """AWS day-of-week (1-7 = SUN-SAT, ``6L``, ``2#1``) to croniter (0-6, ``L5``, ``1#1``)."""

    def num(token: str) -> str:
        if token.isdigit():
            n = int(token)
            if not 1 <= n <= 7:
                raise ValueError(f"AWS cron day-of-week must be 1-7 (SUN-SAT), got {token}")
            return str(n - 1)
        return token

    parts = []
    for part in field.split(","):
        if part.upper().endswith("L") and len(part) > 1:
            parts.append("L" + num(part[:-1]))
            continue
        if "#" in part:
            day, nth = part.split("#", 1)
            parts.append(f"{num(day)}#{nth}")
            continue
        base, _, step = part.partition("/")
        if base in ("*", "?"):
            mapped = "*"
        else:
            mapped = "-".join(num(b) for b in base.split("-"))
        parts.append(mapped + (f"/{step}" if step else ""))
    return ",".join(parts)


def _year_ok(field: str, year: int) -> bool:
    if field in ("*", "?"):
        return True
    for part in field.split(","):
        base, _, step = part.partition("/")
        lo, _, hi = base.partition("-")
        start = 1970 if lo == "*" else int(lo)
        end = 2199 if lo == "*" else int(hi or (2199 if step else lo))
        if start <= year <= end and (year - start) % int(step or 1) == 0:
            return True
    return False


def describe(expression: Any) -> str:
    """A short label for logs."""
    return expression_string(expression)
