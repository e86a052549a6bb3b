"""The public vendor route ``/vendor/quotes/{token}``: no JWT, the signed token is the credential.

GET and POST answer JSON, or HTML pages when the client prefers ``text/html`` (a vendor's
browser). POST takes JSON or the form's ``application/x-www-form-urlencoded`` body. Errors: 400 (a field), 403 (altered or unknown link), 409 (already
answered), 410 (expired); HTML clients get them as a page with the same status.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from chalice import Chalice, Response

from chalicelib import errors, web
from chalicelib.settings import get_settings
from chalicelib.vendors import page
from chalicelib.vendors.handlers import desk

FORM = "application/x-www-form-urlencoded"
_TITLES = {403: "This link is not valid", 409: "Quote already given", 410: "This link has expired",
           404: "Not found"}


def _wants_html(request: Any) -> bool:
    accept = (request.headers.get("accept") or "").lower()
    if "text/html" not in accept:
        return False
    return "application/json" not in accept or accept.index("text/html") < accept.index("application/json")


def _html(status: int, text: str) -> Response:
    return Response(body=text, status_code=status, headers=dict(page.HEADERS))


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(body=body, status_code=status, headers={"Cache-Control": "no-store",
                                                           "Referrer-Policy": "no-referrer"})


def _error_page(error: errors.AppError) -> Response:
    if error.status >= 500:
        raise error  # web.endpoint answers it (503 with Retry-After)
    return _html(error.status, page.message_page(_TITLES.get(error.status, "Something is wrong"), error.message))


def view(app: Chalice, token: str) -> Response:
    """The request the vendor was sent (their name and the task description)."""
    if not _wants_html(app.current_request):
        return _json(200, desk().view(token))
    try:
        return _html(200, page.quote_page(desk().view(token)))
    except errors.AppError as exc:
        return _error_page(exc)


def _form_body(request: Any, max_bytes: int) -> dict[str, Any]:
    raw = request.raw_body or b""
    if len(raw) > max_bytes:
        raise errors.PayloadTooLarge(f"body is {len(raw)} bytes; the limit is {max_bytes}")
    try:
        text = raw.decode("utf-8")
        fields = parse_qs(text, keep_blank_values=True, max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        raise errors.BadRequest("the form body is not valid") from None
    if "\x00" in "".join(v for values in fields.values() for v in values):
        raise errors.BadRequest("fields must not contain NUL characters")
    return {key: values[0] for key, values in fields.items()}


def submit(app: Chalice, token: str) -> Response:
    """Record the vendor's price and note (once). The body is JSON or the form's urlencoded
    fields; the answer is the HTML page when the client prefers ``text/html``, else JSON."""
    request = app.current_request
    limit = get_settings().max_body_bytes
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()

    def body() -> dict[str, Any]:
        return _form_body(request, limit) if content_type == FORM else web.json_body(app, limit)

    if not _wants_html(request):
        return _json(200, desk().submit(token, body()))
    try:
        return _html(200, page.quote_page(desk().submit(token, body())))
    except (errors.BadRequest, errors.PayloadTooLarge, errors.UnsupportedMediaType) as exc:
        try:
            current = desk().view(token)
        except errors.AppError as other:
            return _error_page(other)
        return _html(exc.status, page.quote_page(current, error=exc.message))
    except errors.AppError as exc:
        return _error_page(exc)
