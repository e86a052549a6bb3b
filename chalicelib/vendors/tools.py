"""The concierge agent's tools. Every effect the task record reports comes from here:
``find_vendors`` reads the directory, ``request_quote`` writes a quote request and e-mails the
vendor a signed link. Tool inputs come from a model: each is validated before it acts, and a
bad one is answered with an error the model can read and correct."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.ports import Mailer, MailRejected, MailUnavailable, ToolInputError
from chalicelib.vendors import links
from chalicelib.vendors.directory import Vendor, VendorDirectory, area_in, trade_in
from chalicelib.vendors.quotes import QuoteRequests
from chalicelib.vendors.tables import ANSWERED, SENT

log = logging.getLogger(__name__)

MAX_FOUND = 10
MAX_MESSAGE = 1500
_URL = re.compile(r"(https?://|www\.|\b[a-z0-9-]+\.(com|net|org|io|co)\b)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

#: The tools as the Anthropic Messages API takes them (``tools=``).
SPECS: list[dict[str, Any]] = [
    {
        "name": "find_vendors",
        "description": "Search the vendor directory for vendors offering a trade in an area. Returns each "
                       "vendor's id, name, trades and areas. Only vendors returned here can be asked for a quote.",
        "input_schema": {
            "type": "object", "additionalProperties": False, "required": ["trade", "area"],
            "properties": {
                "trade": {"type": "string", "minLength": 1, "maxLength": 60,
                          "description": "The trade, e.g. plumbing, electrical, landscaping, painting, roofing"},
                "area": {"type": "string", "minLength": 1, "maxLength": 80,
                         "description": "The city or area the customer named, e.g. Austin"},
            },
        },
    },
    {
        "name": "request_quote",
        "description": "E-mail one vendor (by the id find_vendors returned) a request for a quote. The vendor "
                       "gets your message and a private link where they answer with a price; their quote is "
                       "recorded on the task when they answer. Plain text, no links, at most 1500 characters.",
        "input_schema": {
            "type": "object", "additionalProperties": False, "required": ["vendor", "message"],
            "properties": {
                "vendor": {"type": "string", "minLength": 1, "maxLength": 64,
                           "description": "The vendor's id from find_vendors"},
                "message": {"type": "string", "minLength": 1, "maxLength": MAX_MESSAGE,
                            "description": "What the customer needs, for the vendor to price"},
            },
        },
    },
]


def _text(data: dict[str, Any], name: str, max_chars: int) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ToolInputError(f"{name} must be a non-empty string")
    value = value.strip()
    if len(value) > max_chars:
        raise ToolInputError(f"{name} is {len(value)} characters; at most {max_chars}")
    if _CONTROL.search(value):
        raise ToolInputError(f"{name} must be plain text (no control characters)")
    return value


def _check_keys(data: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ToolInputError("the input must be a JSON object")
    extra = set(data) - allowed
    if extra:
        raise ToolInputError(f"unknown input field(s): {', '.join(sorted(extra))}")
    return data


__all__ = ["SPECS", "ToolInputError", "Toolbox"]


@dataclass
class Toolbox:
    """The tools bound to one task (a :class:`chalicelib.ports.Tools`). ``on_event(message, type)``
    adds a timeline event."""

    task_id: str
    description: str
    directory: VendorDirectory
    requests: QuoteRequests
    mailer: Mailer
    link_secret: str
    public_base_url: str
    link_ttl_seconds: int
    max_quote_requests: int
    on_event: Callable[[str, str], None] = lambda message, kind: None
    found: dict[str, Vendor] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)

    specs = SPECS

    def call(self, name: str, data: Any) -> dict[str, Any]:
        """Run one tool call; :class:`ToolInputError` for an unknown tool or a bad input."""
        tool = {"find_vendors": self.find_vendors, "request_quote": self.request_quote}.get(name)
        if tool is None:
            raise ToolInputError(f"unknown tool {name!r}; the tools are find_vendors and request_quote")
        try:
            result = tool(data)
        except ToolInputError as exc:
            self.calls.append({"tool": name, "ok": False, "error": str(exc)})
            raise
        self.calls.append({"tool": name, "ok": "error" not in result})
        return result

    def read_request(self, description: str) -> tuple[str | None, str | None]:
        """The trade (synonyms included) and an area the directory serves that ``description`` names."""
        return trade_in(description), area_in(description, self.directory.known_areas())

    def as_message(self, text: str, limit: int = 1200) -> str:
        """``text`` as a quote-request message: no links (``request_quote`` refuses them), bounded."""
        return _URL.sub("[link removed]", " ".join(text.split()))[:limit]

    def find_vendors(self, data: Any) -> dict[str, Any]:
        data = _check_keys(data, {"trade", "area"})
        trade, area = _text(data, "trade", 60), _text(data, "area", 80)
        found = self.directory.find(trade, area, limit=MAX_FOUND)
        self.found.update((v.id, v) for v in found)
        self.on_event(f"find_vendors(trade={trade!r}, area={area!r}): {len(found)} vendor(s) in the directory",
                      "info")
        return {"count": len(found),
                "vendors": [{"id": v.id, "name": v.name, "trades": v.trades, "areas": v.areas} for v in found]}

    def request_quote(self, data: Any) -> dict[str, Any]:
        data = _check_keys(data, {"vendor", "message"})
        vendor_id, message = _text(data, "vendor", 64), _text(data, "message", MAX_MESSAGE)
        if _URL.search(message):
            raise ToolInputError("message must not contain links or web addresses; we add the vendor's link")
        vendor = self.found.get(vendor_id)
        if vendor is None:
            raise ToolInputError(f"vendor {vendor_id!r} was not returned by find_vendors for this task; "
                                 "pass the id of a vendor find_vendors returned")
        existing = self.requests.find(self.task_id, vendor.id)
        if existing is not None and existing.status in (SENT, ANSWERED):
            return {"quote_request_id": existing.id, "vendor": vendor.name, "status": "already_requested"}
        if existing is None and self.requests.count_for_task(self.task_id) >= self.max_quote_requests:
            raise ToolInputError(f"the limit of {self.max_quote_requests} quote requests per task is reached")
        request, _ = self.requests.create(self.task_id, vendor.id, self.description, message,
                                          int(time.time()) + self.link_ttl_seconds)
        token = links.sign(self.link_secret, self.task_id, vendor.id, request.id, request.expires_at)
        link = f"{self.public_base_url}/vendor/quotes/{token}"
        try:
            message_id = self.mailer.send(vendor.email, f"Request for a quote: {vendor.name}",
                                          _email_body(vendor, message, link, request.expires_at))
        except (MailRejected, MailUnavailable) as exc:
            self.requests.mark_failed(request.id, str(exc))
            self.on_event(f"Quote request to {vendor.name} could not be e-mailed: {exc}", "warning")
            log.warning("task %s: quote request %s not sent: %s", self.task_id, request.id, exc)
            return {"quote_request_id": request.id, "vendor": vendor.name, "status": "failed",
                    "error": "the e-mail could not be sent" + (", try again later" if isinstance(
                        exc, MailUnavailable) else "")}
        self.requests.mark_sent(request.id, message_id)
        self.on_event(f"Quote request e-mailed to {vendor.name}", "info")
        return {"quote_request_id": request.id, "vendor": vendor.name, "status": "sent"}


def _email_body(vendor: Vendor, message: str, link: str, expires_at: int) -> str:
    until = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"Hello {vendor.name},\n\n{message}\n\n"
            f"Please give your price through this private link (it works once, until {until}):\n{link}\n\n"
            "You are receiving this because a customer of the Valro concierge asked for quotes from "
            "vendors in your trade and area.\n")
