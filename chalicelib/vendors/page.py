"""The vendor's HTML form: every text HTML-escaped, no script at all, a strict CSP.

The form posts (``application/x-www-form-urlencoded``) to the same URL it was served from;
the same route answers JSON to a client that asks for it.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from typing import Any

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}"
          "blockquote{white-space:pre-wrap;border-left:4px solid #888;margin:1rem 0;padding:.5rem 1rem}"
          "label{display:block;margin-top:1rem}input,textarea{font:inherit;width:100%;box-sizing:border-box}"
          "button{margin-top:1rem;font:inherit;padding:.5rem 1.5rem}.error{color:#a00}")
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()

#: Nothing loads but the one inline style block (by hash); the form may post only here.
CSP = (f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the URL is the credential: never send it on
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


def _document(title: str, body: str) -> str:
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>")


def quote_page(view: dict[str, Any], error: str | None = None) -> str:
    """The request and, while it is open, the form (or the quote already given)."""
    parts = [f"<h1>Quote request for {escape(view['vendor'])}</h1>",
             "<p>A customer asked for quotes on this job:</p>",
             f"<blockquote>{escape(view['description'])}</blockquote>"]
    quote = view.get("quote")
    if quote:
        amount = f"{quote['price']:,.2f}"
        parts.append(f"<p>Thank you. Your quote of {escape(amount)} {escape(quote['currency'])} "
                     "was recorded and passed on to the customer.</p>")
        if quote.get("note"):
            parts.append(f"<p>Your note:</p><blockquote>{escape(quote['note'])}</blockquote>")
        return _document("Quote recorded", "".join(parts))
    if error:
        parts.append(f"<p class=\"error\" role=\"alert\">{escape(error)}</p>")
    parts.append(
        "<form method=\"post\">"
        "<label for=\"price\">Price</label>"
        "<input id=\"price\" name=\"price\" inputmode=\"decimal\" required pattern=\"[0-9]+([.][0-9]{1,2})?\">"
        "<label for=\"currency\">Currency (ISO code)</label>"
        "<input id=\"currency\" name=\"currency\" value=\"USD\" required maxlength=\"3\" pattern=\"[A-Za-z]{3}\">"
        "<label for=\"note\">Note for the customer (optional)</label>"
        "<textarea id=\"note\" name=\"note\" rows=\"5\" maxlength=\"2000\"></textarea>"
        "<button type=\"submit\">Send quote</button></form>"
        f"<p>This link works once, until {escape(view['expires_at'])}.</p>")
    return _document("Quote request", "".join(parts))


def message_page(title: str, message: str) -> str:
    """An error page (invalid, expired or used link)."""
    return _document(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>")
