"""``make vendors-import FILE=vendors.csv``: validate a CSV of vendors and upsert it.

Columns (a header row is required): ``name, trades, areas, email, phone`` and optionally
``source``. ``trades`` and ``areas`` list names separated by ``;``. Rows are upserted by e-mail
(lowercased). A bad row is rejected with its line number and reason; the good rows are still
imported. The local stage loads :data:`SAMPLE_CSV` (rows with ``source`` "sample") itself.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from chalicelib.vendors.directory import VendorDirectory, VendorRow, canonical_trade, normalize_name

SAMPLE_CSV = Path(__file__).resolve().parent / "sample_vendors.csv"
REQUIRED_COLUMNS = ("name", "trades", "areas", "email")
MAX_LIST = 20
_EMAIL = re.compile(r"^[^@\s<>,;\"']{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_PHONE = re.compile(r"^[0-9+()./ -]{5,40}$")
_SOURCE = re.compile(r"^[a-z0-9_-]{1,40}$")


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged, "
                f"{len(self.rejected)} rejected")


class RowError(ValueError):
    """One CSV row is not a valid vendor."""


def _names(raw: str, what: str, canonical: bool) -> tuple[str, ...]:
    names = [canonical_trade(p) if canonical else normalize_name(p) for p in raw.split(";")]
    names = list(dict.fromkeys(n for n in names if n))
    if not names:
        raise RowError(f"{what} is empty (list names separated by ';')")
    if len(names) > MAX_LIST:
        raise RowError(f"{what} lists {len(names)} names; at most {MAX_LIST}")
    return tuple(names)


def validate_row(raw: dict[str, str | None], default_source: str) -> VendorRow:
    """A :class:`VendorRow` from one CSV record, or :class:`RowError` naming the field."""
    value = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
    name = " ".join(value.get("name", "").split())
    if not name or len(name) > 200:
        raise RowError("name must be 1-200 characters")
    email = value.get("email", "").lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise RowError(f"email {email!r} is not an e-mail address")
    phone = value.get("phone") or None
    if phone is not None and not _PHONE.match(phone):
        raise RowError(f"phone {phone!r} may hold only digits, spaces and + ( ) . / - (5-40 characters)")
    source = (value.get("source") or default_source).lower()
    if not _SOURCE.match(source):
        raise RowError(f"source {source!r} must be 1-40 of a-z 0-9 _ -")
    for text in (name, phone or "", value.get("trades", ""), value.get("areas", "")):
        if any(ord(c) < 32 for c in text):
            raise RowError("control characters are not allowed")
    return VendorRow(name=name, trades=_names(value.get("trades", ""), "trades", True),
                     areas=_names(value.get("areas", ""), "areas", False), email=email, phone=phone, source=source)


def parse_csv(text: str, default_source: str = "import") -> tuple[list[VendorRow], list[tuple[int, str]]]:
    """Valid rows (the last row wins for a repeated e-mail) and ``(line, reason)`` rejects."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in [f.strip().lower() for f in reader.fieldnames or []]]
    if missing:
        raise RowError(f"the header row must name the columns {', '.join(REQUIRED_COLUMNS)} "
                       f"(missing: {', '.join(missing)})")
    rows: dict[str, VendorRow] = {}
    rejected: list[tuple[int, str]] = []
    for record in reader:
        line = reader.line_num
        if None in record:
            rejected.append((line, "more fields than the header names"))
            continue
        try:
            row = validate_row(record, default_source)
        except RowError as exc:
            rejected.append((line, str(exc)))
            continue
        rows.pop(row.email, None)
        rows[row.email] = row
    return list(rows.values()), rejected


def import_text(directory: VendorDirectory, text: str, default_source: str = "import") -> ImportReport:
    rows, rejected = parse_csv(text, default_source)
    counts = directory.upsert(rows)
    return ImportReport(rejected=rejected, **counts)


def load_sample(directory: VendorDirectory) -> ImportReport:
    """Upsert the committed sample directory (idempotent; the local stage calls it)."""
    return import_text(directory, SAMPLE_CSV.read_text(encoding="utf-8"), default_source="sample")
