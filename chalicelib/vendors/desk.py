"""The vendor's side of a quote request: see what was asked, answer once with a price.

The signed link is the only credential. A vendor sees the task description they were asked
about and their own name, nothing else of the task or the customer.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from chalicelib import errors
from chalicelib.tasks.model import STATUSES, Change, event
from chalicelib.tasks.store import TaskStore
from chalicelib.timeutil import from_epoch, iso_seconds
from chalicelib.vendors import links
from chalicelib.vendors.quotes import AlreadyAnswered, QuoteRequest, QuoteRequests

log = logging.getLogger(__name__)

MAX_NOTE = 2000
_CURRENCY = re.compile(r"^[A-Z]{3}$")
#: Repeats of the write-then-recount loop in :func:`record_effects` before giving up.
MAX_SYNC_ROUNDS = 5


def record_effects(store: TaskStore, requests: QuoteRequests, task_id: str, message: str,
                   kind: str = "info") -> dict[str, Any]:
    """Write the task's ``vendors``/``quotes``/``emails_sent`` counted from the records, with a
    timeline event, then :func:`recount`."""
    effects = requests.effects(task_id)
    store.apply(task_id, Change(STATUSES, event(message, kind), fields=effects))
    return recount(store, requests, task_id, effects)


def recount(store: TaskStore, requests: QuoteRequests, task_id: str, written: dict[str, Any]) -> dict[str, Any]:
    """Two writers (a vendor answering while the worker completes) may each count, then write
    in the opposite order. So every writer counts again after writing ``written`` and writes
    again if the count moved: the last write is then always made from a count taken after every
    earlier answer was stored."""
    for _ in range(MAX_SYNC_ROUNDS):
        now = requests.effects(task_id)
        if now == written:
            return written
        written = now
        store.apply(task_id, Change(STATUSES, event("Vendor records re-counted", "info"), fields=written))
    log.warning("task %s: vendor records still moving after %d re-counts", task_id, MAX_SYNC_ROUNDS)
    return written


def parse_quote(body: dict[str, Any], max_price: float) -> tuple[Decimal, str, str]:
    """``price`` (positive, at most ``max_price``, at most 2 decimals), ``currency`` (ISO 4217
    letters) and ``note`` (optional text, at most 2000 characters), or a 400 naming the field."""
    extra = set(body) - {"price", "currency", "note"}
    if extra:
        raise errors.BadRequest(f"unknown field(s): {', '.join(sorted(extra))}", field=sorted(extra)[0])
    raw = body.get("price")
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise errors.BadRequest("price is required: a positive number", field="price")
    try:
        price = Decimal(str(raw).strip())
    except InvalidOperation:
        raise errors.BadRequest("price must be a number such as 450 or 450.50", field="price") from None
    if not price.is_finite() or not (0 < price <= Decimal(str(max_price))):
        raise errors.BadRequest(f"price must be more than 0 and at most {max_price:g}", field="price")
    if price != price.quantize(Decimal("0.01")):
        raise errors.BadRequest("price may have at most 2 decimal places", field="price")
    currency = body.get("currency")
    if not isinstance(currency, str) or not _CURRENCY.match(currency.strip().upper()):
        raise errors.BadRequest("currency is required: a 3-letter ISO 4217 code such as USD", field="currency")
    note = body.get("note", "")
    if note is None:
        note = ""
    if not isinstance(note, str):
        raise errors.BadRequest("note must be text", field="note")
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise errors.BadRequest(f"note is {len(note)} characters; at most {MAX_NOTE}", field="note")
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", note):
        raise errors.BadRequest("note must be plain text (no control characters)", field="note")
    return price.quantize(Decimal("0.01")), currency.strip().upper(), note


def _iso(epoch: int) -> str:
    return iso_seconds(from_epoch(epoch))


def _quote(request: QuoteRequest) -> dict[str, Any] | None:
    if request.answered_at is None or request.price is None:
        return None
    return {"price": float(request.price), "currency": request.currency, "note": request.note or "",
            "received_at": request.answered_at}


class QuoteDesk:
    def __init__(self, requests: QuoteRequests, store: TaskStore, secret: str, max_price: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.requests, self.store, self.secret = requests, store, secret
        self.max_price, self.clock = max_price, clock

    def _open(self, token: str) -> QuoteRequest:
        """The quote request the token is genuinely for: 403 altered or unknown, 410 expired."""
        try:
            parsed = links.parse(token)
            request = self.requests.get(parsed.quote_request_id)
            if request is None:
                raise links.BadLink("this quote link is not valid")
            links.verify(self.secret, parsed, request.task_id, request.vendor_id, self.clock())
        except links.BadLink as exc:
            raise errors.Forbidden(str(exc)) from None
        except links.ExpiredLink as exc:
            raise errors.Gone(str(exc)) from None
        if parsed.expires_at != request.expires_at:
            raise errors.Forbidden("this quote link is not valid")
        return request

    def view(self, token: str) -> dict[str, Any]:
        """What the vendor may see: their name and the task description they were asked about."""
        request = self._open(token)
        return {"vendor": request.vendor_name, "description": request.description,
                "expires_at": _iso(request.expires_at), "answered": request.answered_at is not None,
                "quote": _quote(request)}

    def submit(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        """Record the vendor's quote once (409 after), on the task with a timeline event."""
        request = self._open(token)
        if request.answered_at is not None:
            raise errors.Conflict("a quote was already given through this link; it works once")
        price, currency, note = parse_quote(body, self.max_price)
        try:
            answered = self.requests.answer(request.id, price, currency, note)
        except AlreadyAnswered:
            raise errors.Conflict("a quote was already given through this link; it works once") from None
        try:
            record_effects(self.store, self.requests, request.task_id,
                           f"Quote received from {request.vendor_name}: {price:,.2f} {currency}", "success")
        except Exception as exc:  # noqa: BLE001 - the quote is stored; the task record catches up
            log.error("task %s: quote %s stored but the task record was not updated (%s); the next "
                      "re-count adds it", request.task_id, request.id, type(exc).__name__)
        return {"vendor": answered.vendor_name, "description": answered.description,
                "expires_at": _iso(answered.expires_at), "answered": True, "quote": _quote(answered)}
