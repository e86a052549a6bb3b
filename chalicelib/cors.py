"""CORS for a list of allowed origins (Chalice's CORSConfig takes one): the request's Origin is
echoed only when it is listed in CORS_ALLOW_ORIGINS (``*`` only if configured), with Vary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib.settings import get_settings

ALLOW_HEADERS = "Authorization,Content-Type,Idempotency-Key"
EXPOSE_HEADERS = "Retry-After"


#: Every route the web console calls, with the methods its preflight grants (``/tasks`` and
#: ``/tasks/{task_id}`` have their own views in app.py). LOCAL_PREFLIGHTS exist in the local stage only.
PREFLIGHTS: dict[str, str] = {
    "/me": "GET",
    "/items": "GET,POST",
    "/items/{item_id}": "GET,DELETE",
    "/items/{item_id}/analyze": "POST",
    "/items/{item_id}/analyses": "GET",
    "/search": "POST",
    "/activity": "POST",
    "/pages": "GET",
    "/pages/{page_type}": "GET",
}
LOCAL_PREFLIGHTS: dict[str, str] = {
    "/local/token": "POST",
    "/local/blobs": "GET,PUT",
    "/local/deliveries": "GET",
    "/local/deliveries/{delivery_id}/retry": "POST",
    "/local/schedules": "GET",
    "/local/schedules/{name}/fire": "POST",
    "/local/metrics": "GET",
    "/local/outbox": "GET",
}


def allowed_origin(origin: str | None) -> str | None:
    if not origin:
        return None
    allowed = get_settings().cors_allow_origins
    if "*" in allowed:
        return "*"
    return origin if origin in allowed else None


def cors_headers(origin: str | None) -> dict[str, str]:
    granted = allowed_origin(origin)
    if not granted:
        return {"Vary": "Origin"}
    return {"Access-Control-Allow-Origin": granted, "Access-Control-Expose-Headers": EXPOSE_HEADERS,
            "Vary": "Origin"}


def preflight(request: Any, methods: str) -> Response:
    """Answer an OPTIONS preflight: 204, with grants only for an allowed origin."""
    headers = cors_headers(request.headers.get("origin"))
    if "Access-Control-Allow-Origin" in headers:
        headers.update({"Access-Control-Allow-Methods": f"{methods},OPTIONS",
                        "Access-Control-Allow-Headers": ALLOW_HEADERS, "Access-Control-Max-Age": "600"})
    return Response(body="", status_code=204, headers=headers)


def preflight_view(request_getter: Callable[[], Any], methods: str) -> Callable[..., Response]:
    """A Chalice view answering the preflight of one route (path parameters are ignored)."""

    def view(**_params: str) -> Response:
        return preflight(request_getter(), methods)

    return view


def cors_middleware(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """HTTP middleware: add the CORS grant to every response for an allowed Origin."""
    response = get_response(event)
    if "Access-Control-Allow-Origin" not in response.headers:
        response.headers.update(cors_headers(event.headers.get("origin")))
    return response
