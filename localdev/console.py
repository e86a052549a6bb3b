"""The local stage's routes for the web console: sign in as a name, and the local runtime's
operations (deliveries with retry, schedules with "fire now", metric sums, the e-mail outbox).

:func:`install` registers them from ``localdev.stage.install``, so, like ``/local/blobs``, they
exist only in the local stage (an AWS deployment has no ``/local/*`` route at all); every function
also refuses (404) outside the local stage.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from chalice import Chalice, Response

from chalicelib import errors, web
from chalicelib.settings import get_settings

TOKEN_TTL_SECONDS = 12 * 3600
_USER = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_STATUSES = ("queued", "running", "succeeded", "failed")
_MAX_ERROR_CHARS = 4000


def require_local() -> None:
    if not get_settings().is_local:
        raise errors.NotFound("this route exists only in the local stage")


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


def issue_token(body: dict[str, Any]) -> dict[str, Any]:
    """``POST /local/token {"user"}``: an HS256 token for that name, as ``make token`` prints."""
    require_local()
    from chalicelib.auth import mint_token

    user = body.get("user")
    if not isinstance(user, str) or not _USER.match(user.strip()):
        raise errors.BadRequest("user must be 1-64 letters, digits, '_', '.', '@' or '-'", field="user")
    user = user.strip()
    return {"user_id": user, "token": mint_token(user, TOKEN_TTL_SECONDS),
            "expires_at": _iso(time.time() + TOKEN_TTL_SECONDS)}


def _runtime() -> Any:
    from chalicelib import wiring

    return wiring.local_runtime()


def _delivery(d: Any, max_attempts: int) -> dict[str, Any]:
    error = d.last_error or None
    reason = error.strip().splitlines()[-1] if error else None
    return {"id": d.id, "kind": d.kind, "target": d.target, "status": d.status, "attempts": d.attempts,
            "max_attempts": max_attempts, "reason": reason,
            "error": error[-_MAX_ERROR_CHARS:] if error else None,
            "created_at": _iso(d.created_at), "updated_at": _iso(d.updated_at), "finished_at": _iso(d.finished_at)}


def deliveries(params: dict[str, str]) -> dict[str, Any]:
    """``GET /local/deliveries?status&limit``: newest first, with outcome and the error's last line."""
    require_local()
    status = params.get("status") or None
    if status is not None and status not in _STATUSES:
        raise errors.BadRequest(f"status must be one of {', '.join(_STATUSES)}", field="status")
    try:
        limit = int(params.get("limit") or 50)
    except ValueError:
        limit = 0
    if not 1 <= limit <= 500:
        raise errors.BadRequest("limit must be an integer from 1 to 500", field="limit")
    queue = _runtime().queue
    rows = queue.list(status, limit=100_000)[-limit:]
    return {"deliveries": [_delivery(d, queue.max_attempts) for d in reversed(rows)], "counts": queue.counts()}


def retry(delivery_id: str) -> dict[str, Any]:
    """``POST /local/deliveries/{id}/retry``: requeue a failed delivery (409 for any other status)."""
    require_local()
    queue = _runtime().queue
    try:
        delivery = queue.retry(delivery_id)
    except KeyError:
        raise errors.NotFound("no such delivery") from None
    except ValueError as exc:
        raise errors.Conflict(str(exc)) from None
    return _delivery(delivery, queue.max_attempts)


def schedules() -> dict[str, Any]:
    """``GET /local/schedules``: every ``@app.schedule`` with its expression, last and next run."""
    require_local()
    runtime = _runtime()
    rows = []
    for name, entry in sorted(runtime.schedules.items()):
        last = runtime.queue.schedule_last_fire(entry.rule_name)
        rows.append({"name": name, "expression": entry.expression, "last_fire_at": _iso(last),
                     "next_fire_at": _iso(runtime.next_fire_at(name))})
    return {"schedules": rows}


def fire(name: str) -> dict[str, Any]:
    """``POST /local/schedules/{name}/fire``: queue one run now (its cadence does not move)."""
    require_local()
    try:
        delivery_id = _runtime().fire(name)
    except ValueError as exc:
        raise errors.NotFound(str(exc)) from None
    return {"schedule": name, "delivery_id": delivery_id}


def metrics(params: dict[str, str]) -> dict[str, Any]:
    """``GET /local/metrics?since=<minutes>``: the EMF metrics summed as CloudWatch would."""
    require_local()
    from chalicelib.observability import local_metrics_file
    from localdev.metrics import aggregate, read_lines

    since_ms = None
    if params.get("since"):
        try:
            minutes = float(params["since"])
        except ValueError:
            minutes = -1
        if not 0 < minutes <= 60 * 24 * 365:
            raise errors.BadRequest("since must be a positive number of minutes", field="since")
        since_ms = int((time.time() - minutes * 60) * 1000)
    path = local_metrics_file()
    rows = [s.summary() for s in aggregate(read_lines(path), since_ms)] if path else []
    return {"metrics": rows}


def outbox(params: dict[str, str]) -> dict[str, Any]:
    """``GET /local/outbox?limit``: the e-mails ``make run`` sent (``.local/outbox/``), newest first."""
    require_local()
    from localdev.outbox import read_outbox

    try:
        limit = int(params.get("limit") or 50)
    except ValueError:
        limit = 0
    if not 1 <= limit <= 500:
        raise errors.BadRequest("limit must be an integer from 1 to 500", field="limit")
    messages = read_outbox(get_settings().local_data_dir / "outbox")[-limit:]
    return {"messages": [{**m, "links": m["links"].split()} for m in reversed(messages)]}


def install(app: Chalice, authorizer: object) -> None:
    """Register the console's local routes on ``app`` (the operations behind ``authorizer``)."""

    @app.route("/local/token", methods=["POST"])
    @web.endpoint
    def local_token() -> dict:
        """``{"user"}`` -> a bearer token, as ``make token`` prints."""
        return issue_token(web.json_body(app, get_settings().max_body_bytes))

    @app.route("/local/deliveries", methods=["GET"], authorizer=authorizer)
    @web.endpoint
    def local_deliveries() -> dict:
        """The local runtime's deliveries, newest first, with their outcome."""
        return deliveries(web.query_params(app))

    @app.route("/local/deliveries/{delivery_id}/retry", methods=["POST"], authorizer=authorizer)
    @web.endpoint
    def local_retry(delivery_id: str) -> dict:
        return retry(delivery_id)

    @app.route("/local/schedules", methods=["GET"], authorizer=authorizer)
    @web.endpoint
    def local_schedules() -> dict:
        return schedules()

    @app.route("/local/schedules/{name}/fire", methods=["POST"], authorizer=authorizer)
    @web.endpoint
    def local_fire(name: str) -> Response:
        return Response(body=fire(name), status_code=202)

    @app.route("/local/outbox", methods=["GET"], authorizer=authorizer)
    @web.endpoint
    def local_outbox() -> dict:
        """The e-mails the local stage sent (vendors' quote requests), newest first."""
        return outbox(web.query_params(app))

    @app.route("/local/metrics", methods=["GET"], authorizer=authorizer)
    @web.endpoint
    def local_metrics() -> dict:
        return metrics(web.query_params(app))
