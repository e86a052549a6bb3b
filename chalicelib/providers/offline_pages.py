"""Offline page composition: a page of components built from the user's recorded activity.

Every sentence states a fact from the activity summary (``pages.generation.activity_context``)
or the detector's pattern: which pages, which actions, how often, when. Nothing is invented;
a user with no recorded activity gets a page that says so. Links go only to the user's own
page types (the same rule the detector uses for names), so every ``href`` is app-relative.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

MODEL = "offline-activity-composer-1"
_PAGE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _label(page: str) -> str:
    return page.replace("-", " ").replace("_", " ").strip().capitalize() or page


def _link(page: str) -> dict[str, str] | None:
    return {"label": f"Open {_label(page)}"[:60], "href": f"/{page}"} if _PAGE.match(page or "") else None


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"


def _when(iso: str | None) -> str:
    if not iso:
        return "an unknown time"
    try:
        at = datetime.strptime(iso, "%Y-%m-%dT%H:%MZ")
    except ValueError:
        return iso[:40]
    return f"{at.day} {at.strftime('%b')} at {at:%H:%M} UTC"


def _why(page_type: str, pattern: dict[str, Any]) -> str | None:
    """The detector's reason in words; None for a page the user asked for directly."""
    kind = pattern.get("kind")
    label = _label(page_type)
    if kind == "time_of_day":
        return f"You opened {label} around {int(pattern.get('hour', 0)):02d}:00 on {pattern.get('days')} different days."
    if kind == "weekday":
        day = _WEEKDAYS[int(pattern.get("weekday", 0)) % 7]
        return f"You open {label} on {day}s: {pattern.get('weeks')} weeks in a row."
    if kind == "sequence":
        return (f"After {_label(str(pattern.get('after', '')))} you went on to {label} "
                f"{_times(int(pattern.get('count', 0)))}.")
    if kind == "bedrock" and pattern.get("reason"):
        return f"Predicted from your recent visits: {str(pattern['reason'])[:200]}"
    return None


def compose_page(page_type: str, pattern: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """A schema-valid page (``pages.generation.PAGE_SCHEMA``) for ``page_type`` from ``context``."""
    label = _label(page_type)
    stats = {p["page"]: p for p in context.get("pages") or [] if isinstance(p, dict) and p.get("page")}
    mine = stats.get(page_type)
    total = int(context.get("events_in_window") or 0)
    why = _why(page_type, pattern)
    components: list[dict[str, Any]] = []
    if mine:
        facts = [f"You visited {label} {_times(mine['visits'])} in the last {context.get('window_days', 14)} days, "
                 f"most recently on {_when(mine.get('last_at'))}."]
        if mine.get("usual_hour") is not None:
            facts.append(f"You usually come here around {mine['usual_hour']:02d}:00 UTC.")
    elif total:
        facts = [f"You have not opened {label} in the last {context.get('window_days', 14)} days."]
    else:
        facts = ["No activity is recorded for you yet: this page fills in as you use the app."]
    hero: dict[str, Any] = {"type": "hero", "title": label[:120], "body": " ".join(([why] if why else []) + facts)[:1000]}
    if _link(page_type):
        hero["action"] = _link(page_type)
    components.append(hero)
    if mine:
        components.append({"type": "metric", "title": f"Visits to {label}"[:120],
                           "body": f"{mine['visits']} visits on {mine.get('days', 1)} days out of {total} "
                                   f"recorded actions."})
        actions = sorted((mine.get("actions") or {}).items(), key=lambda kv: (-kv[1], kv[0]))
        if actions:
            components.append({"type": "list", "title": f"What you do on {label}"[:120],
                               "items": [f"{action}: {_times(n)}"[:200] for action, n in actions[:10]]})
    others = [p for name, p in stats.items() if name != page_type and _link(name)]
    for other in others[:3]:
        components.append({"type": "shortcut", "title": _label(other["page"])[:120],
                           "body": f"Visited {_times(other['visits'])}, last on {_when(other.get('last_at'))}.",
                           "action": _link(other["page"])})
    recent = [r for r in (context.get("recent") or []) if isinstance(r, dict)][-5:]
    if recent:
        components.append({"type": "list", "title": "Your recent activity",
                           "items": [f"{r.get('action')} on {_label(str(r.get('page') or r.get('intent') or ''))}, "
                                     f"{_when(r.get('at'))}"[:200] for r in reversed(recent)]})
    if not total:
        components.append({"type": "tip", "title": "How this page learns",
                           "body": "Pages here are built from the pages you open and the actions you take."})
    return {"title": label[:120], "components": components[:12]}
