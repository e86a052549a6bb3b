"""Quote requests and quotes in SQL, and the task fields counted from them.

The task record's ``vendors``, ``quotes`` and ``emails_sent`` are :func:`QuoteRequests.effects`
of these rows: vendors we e-mailed, quotes vendors gave through their link, e-mails accepted
by the mail service. Nothing a model writes is counted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from chalicelib.timeutil import now_iso
from chalicelib.vendors.directory import decode_names
from chalicelib.vendors.tables import ANSWERED, FAILED, PENDING, SENT, quote_requests, vendors


class AlreadyAnswered(Exception):
    """The quote request was answered before (its link is single-use)."""


@dataclass(frozen=True)
class QuoteRequest:
    id: str
    task_id: str
    vendor_id: str
    vendor_name: str
    description: str
    status: str
    expires_at: int
    price: Decimal | None = None
    currency: str | None = None
    note: str | None = None
    answered_at: str | None = None


def _to_request(m: Any) -> QuoteRequest:
    return QuoteRequest(id=m["id"], task_id=m["task_id"], vendor_id=m["vendor_id"], vendor_name=m["name"],
                        description=m["description"], status=m["status"], expires_at=m["expires_at"],
                        price=m["price"], currency=m["currency"], note=m["note"], answered_at=m["answered_at"])


_JOINED = (select(quote_requests, vendors.c.name, vendors.c.email, vendors.c.phone, vendors.c.trades,
                  vendors.c.areas, vendors.c.source)
           .join(vendors, vendors.c.id == quote_requests.c.vendor_id))


class QuoteRequests:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, task_id: str, vendor_id: str, description: str, message: str,
               expires_at: int) -> tuple[QuoteRequest, bool]:
        """A new pending request, or the existing one for (task, vendor): ``(request, created)``."""
        values = {"id": str(uuid.uuid4()), "task_id": task_id, "vendor_id": vendor_id, "description": description,
                  "message": message, "status": PENDING, "expires_at": expires_at, "created_at": now_iso()}
        try:
            with self._engine.begin() as connection:
                connection.execute(quote_requests.insert().values(**values))
            created = True
        except IntegrityError:
            created = False
        found = self.find(task_id, vendor_id)
        if found is None:
            raise RuntimeError(f"quote request for task {task_id} and vendor {vendor_id} vanished")
        return found, created

    def find(self, task_id: str, vendor_id: str) -> QuoteRequest | None:
        query = _JOINED.where(quote_requests.c.task_id == task_id, quote_requests.c.vendor_id == vendor_id)
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        return _to_request(row._mapping) if row else None

    def get(self, request_id: str) -> QuoteRequest | None:
        with self._engine.connect() as connection:
            row = connection.execute(_JOINED.where(quote_requests.c.id == request_id)).first()
        return _to_request(row._mapping) if row else None

    def mark_sent(self, request_id: str, message_id: str) -> None:
        self._set(request_id, (PENDING, FAILED), status=SENT, message_id=message_id[:200], sent_at=now_iso(),
                  error=None)

    def mark_failed(self, request_id: str, error: str) -> None:
        self._set(request_id, (PENDING, FAILED), status=FAILED, error=error[:1000])

    def _set(self, request_id: str, expect: tuple[str, ...], **values: Any) -> None:
        with self._engine.begin() as connection:
            connection.execute(quote_requests.update()
                               .where(quote_requests.c.id == request_id, quote_requests.c.status.in_(expect))
                               .values(**values))

    def answer(self, request_id: str, price: Decimal, currency: str, note: str) -> QuoteRequest:
        """Record the vendor's quote once: a second answer raises :class:`AlreadyAnswered`.
        A request still ``pending``/``failed`` is answerable too: holding the link proves the
        e-mail reached the vendor even if recording its sending did not complete."""
        with self._engine.begin() as connection:
            changed = connection.execute(
                quote_requests.update()
                .where(quote_requests.c.id == request_id, quote_requests.c.answered_at.is_(None))
                .values(status=ANSWERED, price=price, currency=currency, note=note, answered_at=now_iso())
            ).rowcount
        if changed != 1:
            raise AlreadyAnswered(request_id)
        answered = self.get(request_id)
        if answered is None:
            raise RuntimeError(f"quote request {request_id} vanished after its answer was recorded")
        return answered

    def effects(self, task_id: str) -> dict[str, Any]:
        """The task's ``vendors`` (e-mailed), ``quotes`` (answered) and ``emails_sent``."""
        query = _JOINED.where(quote_requests.c.task_id == task_id).order_by(quote_requests.c.created_at,
                                                                            quote_requests.c.id)
        with self._engine.connect() as connection:
            rows = [r._mapping for r in connection.execute(query)]
        contacted = [r for r in rows if r["status"] in (SENT, ANSWERED)]
        return {
            "vendors": [{"id": r["vendor_id"], "name": r["name"], "email": r["email"], "phone": r["phone"],
                         "trades": decode_names(r["trades"]), "areas": decode_names(r["areas"]),
                         "source": r["source"], "quote_request_id": r["id"], "status": r["status"],
                         "emailed_at": r["sent_at"]} for r in contacted],
            "quotes": [{"quote_request_id": r["id"], "vendor_id": r["vendor_id"], "vendor": r["name"],
                        "price": float(r["price"]), "currency": r["currency"], "note": r["note"] or "",
                        "received_at": r["answered_at"]} for r in rows if r["answered_at"]],
            "emails_sent": len(contacted),
        }

    def count_for_task(self, task_id: str) -> int:
        with self._engine.connect() as connection:
            return len(connection.execute(select(quote_requests.c.id)
                                          .where(quote_requests.c.task_id == task_id)).all())
