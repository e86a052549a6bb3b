"""The vendor directory: find vendors by trade and area, upsert imported rows.

Trade and area names are normalised (lowercase letters, digits and single spaces); a trade
named by a common synonym ("plumber", "electrician") is stored and searched under its
canonical name ("plumbing", "electrical"), so the directory, the model and the offline
planner all meet on the same words.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from chalicelib.timeutil import now_iso
from chalicelib.vendors.tables import vendors

MAX_NAME = 60
_NOT_WORD = re.compile(r"[^a-z0-9]+")

#: Canonical trade -> words that name it in a task description or a CSV.
TRADES: dict[str, tuple[str, ...]] = {
    "plumbing": ("plumbing", "plumber", "plumbers", "leak", "leaking", "pipe", "pipes", "drain", "faucet",
                 "toilet", "water heater"),
    "electrical": ("electrical", "electrician", "electricians", "wiring", "outlet", "outlets", "breaker"),
    "landscaping": ("landscaping", "landscaper", "landscapers", "lawn", "garden", "gardener", "yard", "mowing"),
    "painting": ("painting", "painter", "painters", "paint"),
    "roofing": ("roofing", "roofer", "roofers", "roof", "gutter", "gutters", "shingles"),
    "hvac": ("hvac", "heating", "air conditioning", "furnace", "ac repair"),
    "cleaning": ("cleaning", "cleaner", "cleaners", "maid", "housekeeping"),
    "carpentry": ("carpentry", "carpenter", "carpenters", "cabinets", "deck"),
    "moving": ("moving", "mover", "movers", "relocation"),
    "pest control": ("pest control", "exterminator", "pests", "termites"),
}
_SYNONYM = {word: trade for trade, words in TRADES.items() for word in (trade, *words)}


def normalize_text(value: str) -> str:
    """``"  Round-Rock, TX "`` -> ``"round rock tx"`` (letters, digits, single spaces)."""
    return _NOT_WORD.sub(" ", value.lower()).strip()


def normalize_name(value: str) -> str:
    """A trade or area name: :func:`normalize_text`, at most 60 characters."""
    return normalize_text(value)[:MAX_NAME].strip()


def canonical_trade(value: str) -> str:
    """The directory's name for a trade: a known synonym's canonical trade, else the name."""
    name = normalize_name(value)
    if name in _SYNONYM:
        return _SYNONYM[name]
    singular = name[:-1] if name.endswith("s") else name
    return _SYNONYM.get(singular, name)


def trade_in(text: str) -> str | None:
    """The first trade a free-text description names (longest phrase wins at a position)."""
    padded = f" {normalize_text(text)} "
    best: tuple[int, int, str] | None = None
    for word, trade in _SYNONYM.items():
        at = padded.find(f" {word} ")
        if at >= 0 and (best is None or (at, -len(word)) < (best[0], best[1])):
            best = (at, -len(word), trade)
    return best[2] if best else None


def encode_names(names: Iterable[str]) -> str:
    return "|" + "|".join(names) + "|"


def decode_names(value: str) -> list[str]:
    return [part for part in value.split("|") if part]


@dataclass(frozen=True)
class Vendor:
    id: str
    name: str
    trades: list[str]
    areas: list[str]
    email: str
    phone: str | None
    source: str


def _row_to_vendor(row: Any) -> Vendor:
    m = row._mapping
    return Vendor(id=m["id"], name=m["name"], trades=decode_names(m["trades"]), areas=decode_names(m["areas"]),
                  email=m["email"], phone=m["phone"], source=m["source"])


@dataclass(frozen=True)
class VendorRow:
    """A validated row to upsert (see :mod:`chalicelib.vendors.importer`)."""

    name: str
    trades: tuple[str, ...]
    areas: tuple[str, ...]
    email: str
    phone: str | None
    source: str


class VendorDirectory:
    """The ``vendors`` table (the main SQL database, also when tasks live in DynamoDB)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def find(self, trade: str, area: str, limit: int = 10) -> list[Vendor]:
        """Vendors offering ``trade`` in ``area`` (both normalised), by name."""
        trade, area = canonical_trade(trade), normalize_name(area)
        if not trade or not area:
            return []
        query = (select(vendors)
                 .where(vendors.c.trades.like(f"%|{trade}|%"), vendors.c.areas.like(f"%|{area}|%"))
                 .order_by(vendors.c.name, vendors.c.id).limit(limit))
        with self._engine.connect() as connection:
            return [_row_to_vendor(r) for r in connection.execute(query)]

    def get(self, vendor_id: str) -> Vendor | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(vendors).where(vendors.c.id == vendor_id)).first()
        return _row_to_vendor(row) if row else None

    def known_areas(self) -> set[str]:
        """Every area some vendor serves (the offline planner looks for them in a description)."""
        with self._engine.connect() as connection:
            rows = connection.execute(select(vendors.c.areas).distinct()).scalars()
            return {area for value in rows for area in decode_names(value)}

    def upsert(self, rows: list[VendorRow]) -> dict[str, int]:
        """Insert new e-mails, update changed vendors, in one transaction:
        ``{"inserted", "updated", "unchanged"}``. A concurrent import of the same e-mail (two
        workers loading the sample at once) makes the loser start again and find the rows."""
        for attempt in range(3):
            try:
                return self._upsert(rows)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _upsert(self, rows: list[VendorRow]) -> dict[str, int]:
        counts = {"inserted": 0, "updated": 0, "unchanged": 0}
        now = now_iso()
        with self._engine.begin() as connection:
            for start in range(0, len(rows), 500):
                chunk = rows[start:start + 500]
                existing = {r._mapping["email"]: r._mapping for r in connection.execute(
                    select(vendors).where(vendors.c.email.in_([row.email for row in chunk])))}
                for row in chunk:
                    values = {"name": row.name, "trades": encode_names(row.trades), "areas": encode_names(row.areas),
                              "phone": row.phone, "source": row.source}
                    current = existing.get(row.email)
                    if current is None:
                        connection.execute(vendors.insert().values(
                            id=str(uuid.uuid4()), email=row.email, created_at=now, updated_at=now, **values))
                        counts["inserted"] += 1
                    elif any(current[k] != v for k, v in values.items()):
                        connection.execute(vendors.update().where(vendors.c.id == current["id"])
                                           .values(updated_at=now, **values))
                        counts["updated"] += 1
                    else:
                        counts["unchanged"] += 1
        return counts


def area_in(text: str, areas: Iterable[str]) -> str | None:
    """The area (of ``areas``) a description names, the earliest and then longest mention."""
    padded = f" {normalize_text(text)} "
    best: tuple[int, int, str] | None = None
    for area in areas:
        at = padded.find(f" {area} ")
        if at >= 0 and (best is None or (at, -len(area)) < (best[0], best[1])):
            best = (at, -len(area), area)
    return best[2] if best else None
