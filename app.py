"""The Chalice app: every route, S3 handler, schedule, EventBridge handler and async Lambda.

Handlers stay a few lines long and delegate to ``chalicelib``. Nothing heavy is imported
here (no AI SDK, no Pillow): adapters are built lazily by :mod:`chalicelib.wiring`.
"""

from __future__ import annotations

import logging

from chalice import AuthResponse, Chalice, Rate, Response

from chalicelib import auth, bootstrap, cors, errors, logs, observability, web
from chalicelib.settings import get_settings

# Chalice's own log handler writes text: its records go to the root logger, formatted as JSON.
app = Chalice(app_name="ai-backend", configure_logs=False)
_LOG_LEVEL = getattr(logging, get_settings().log_level, logging.INFO)
logs.configure(_LOG_LEVEL, get_settings().log_format)
app.log.setLevel(_LOG_LEVEL)
app.register_middleware(web.normalize_chalice_errors, "http")
app.register_middleware(observability.invocation_middleware, "all")
app.register_middleware(cors.cors_middleware, "http")


@app.authorizer()
def jwt_auth(auth_request):  # noqa: ANN001, ANN201 - Chalice's AuthRequest/AuthResponse
    """Bearer JWT: 401 when missing, malformed, expired or badly signed; the user is ``sub``."""
    try:
        claims = auth.verify_token(auth_request.token)
    except auth.Unauthorized as exc:
        raise auth.unauthorized(exc.reason) from None
    return AuthResponse(routes=["*"], principal_id=claims["sub"])


observability.observe_authorizer(jwt_auth)



def _local_stage(settings, target):  # noqa: ANN001, ANN202 - built only when STAGE is local
    """The emulator's adapters for ``target`` (the development package is imported only here)."""
    from localdev.stage import LocalStage

    return LocalStage(settings, target)


bootstrap.register_local_stage(_local_stage, app)
if get_settings().is_local:
    # The emulator's routes (presigned URL targets, the console's sign-in and operations): local stage only.
    from localdev.stage import install as install_local_stage

    install_local_stage(app, jwt_auth)
else:
    @app.route("/local/token", methods=["POST"])
    @web.endpoint
    def local_token_elsewhere() -> Response:
        """Signing in by name exists only on the local stage: here it is a 404 that mints nothing."""
        raise errors.NotFound("signing in by name exists only on the local stage; sign in with Cognito "
                              "or paste a token")


# --- platform ---------------------------------------------------------------------------------


@app.route("/health", methods=["GET"])
@web.endpoint
def health() -> Response:
    """Stage, version, database reachability and which providers are real or offline; 503
    when the database is unreachable or a required provider is missing (named in ``missing``)."""
    from chalicelib.health import health_report

    report = health_report()
    return Response(body=report, status_code=200 if report["status"] == "ok" else 503)


@app.route("/openapi.json", methods=["GET"])
@web.endpoint
def openapi_document() -> dict:
    """The API's OpenAPI 3.1 contract (kept true by tests/contract)."""
    from chalicelib.openapi import document

    return document()


# --- web console (docs/console.md) ---------------------------------------------------------------


@app.route("/", methods=["GET"])
@web.endpoint
def console_index() -> Response:
    """The web console's page (ES modules and CSS under /console/, strict CSP)."""
    from chalicelib import console

    return console.index(app.current_request)


@app.route("/console/{name}", methods=["GET"])
@web.endpoint
def console_asset(name: str) -> Response:
    """One console file (``.js``, ``.css``, ``.svg``) or ``config.json`` (this stage's settings)."""
    from chalicelib import console

    return console.asset(name, app.current_request.headers.get("if-none-match"))


@app.route("/me", methods=["GET"], authorizer=jwt_auth)
@web.endpoint
def me() -> dict:
    """The authenticated caller, as the API sees them."""
    return {"user_id": web.current_user(app)}


# --- collections ------------------------------------------------------------------------------
# Upload -> thumbnail (S3 event) -> analysis (EventBridge) -> embedding -> search.


@app.on_s3_event(bucket=get_settings().bucket_name, events=["s3:ObjectCreated:*"])
def collections_image_processor(event) -> None:  # noqa: ANN001 - chalice S3Event
    """Thumbnail a new .jpg/.jpeg/.png (any case; filtered in code) and publish ImageProcessed."""
    from chalicelib.collections.handlers import on_object_created

    on_object_created(event.to_dict())


@app.on_cw_event({"source": ["collections.imageprocessor"], "detail-type": ["ImageProcessed"]})
def collections_analyzer(event) -> None:  # noqa: ANN001 - chalice CloudWatchEvent
    """Claude vision analysis of the image; publishes AnalysisComplete."""
    from chalicelib.collections.handlers import on_image_processed

    on_image_processed(event.to_dict())


@app.on_cw_event({"source": ["collections.analyzer"], "detail-type": ["AnalysisComplete"]})
def collections_embedder(event) -> None:  # noqa: ANN001 - chalice CloudWatchEvent
    """Voyage embedding of the analysis; the item becomes ready (searchable)."""
    from chalicelib.collections.handlers import on_analysis_complete

    on_analysis_complete(event.to_dict())


@app.schedule(Rate(5, unit=Rate.MINUTES), name="item_sweeper")
def item_sweeper(event) -> dict:  # noqa: ANN001 - chalice CloudWatchEvent
    """Re-send the step of items stuck with no progress for ITEM_RESEND_AFTER_SECONDS; after
    ITEM_RESEND_MAX re-sends mark them failed with the reason: none stays processing forever."""
    from chalicelib.collections.handlers import run_item_sweeper

    return run_item_sweeper(getattr(event.context, "get_remaining_time_in_millis", None))


def _collections():  # noqa: ANN202 - chalicelib.collections.service.CollectionsService
    from chalicelib.collections.handlers import services

    return services()


@app.route("/items", methods=["POST"], authorizer=jwt_auth)
@web.endpoint
def collections_create_item() -> Response:
    """Create an item; the response says where to PUT the image bytes."""
    body = web.json_body(app, get_settings().max_body_bytes)
    return Response(body=_collections().create_item(web.current_user(app), body), status_code=201)


@app.route("/items", methods=["GET"], authorizer=jwt_auth)
@web.endpoint
def collections_list_items() -> dict:
    return _collections().list_items(web.current_user(app), web.query_params(app))


@app.route("/items/{item_id}", methods=["GET"], authorizer=jwt_auth)
@web.endpoint
def collections_get_item(item_id: str) -> dict:
    return _collections().get_item(web.current_user(app), item_id)


@app.route("/items/{item_id}", methods=["DELETE"], authorizer=jwt_auth)
@web.endpoint
def collections_delete_item(item_id: str) -> Response:
    _collections().delete_item(web.current_user(app), item_id)
    return Response(body="", status_code=204)


@app.route("/items/{item_id}/analyze", methods=["POST"], authorizer=jwt_auth)
@web.endpoint
def collections_reanalyze(item_id: str) -> Response:
    """Re-analyse the item (a new version); ``Idempotency-Key`` makes retries safe."""
    key = app.current_request.headers.get("idempotency-key")
    return Response(body=_collections().reanalyze(web.current_user(app), item_id, key), status_code=202)


@app.route("/items/{item_id}/analyses", methods=["GET"], authorizer=jwt_auth)
@web.endpoint
def collections_list_analyses(item_id: str) -> dict:
    return _collections().list_analyses(web.current_user(app), item_id)


@app.route("/search", methods=["POST"], authorizer=jwt_auth)
@web.endpoint
def collections_search() -> dict:
    """Keyword, vector or hybrid search over the caller's analysed items."""
    body = web.json_body(app, get_settings().max_body_bytes)
    return _collections().search(web.current_user(app), body)


# --- tasks ------------------------------------------------------------------------------------
# POST answers 202 at once; the worker Lambda is invoked asynchronously (through the invoke adapter).


@app.route("/tasks", methods=["POST"], authorizer=jwt_auth)
@web.endpoint
def create_task() -> Response:
    """Create a task; 202 at once. ``Idempotency-Key`` makes retries safe."""
    from chalicelib.tasks.handlers import service

    body = web.json_body(app, get_settings().max_body_bytes)
    key = app.current_request.headers.get("idempotency-key")
    task = service().create(web.current_user(app), body, key)
    return Response(status_code=202, body={"id": task.id, "status": task.status,
                                           "message": "Task created and processing started"})


@app.route("/tasks", methods=["GET"], authorizer=jwt_auth)
@web.endpoint
def list_tasks() -> dict:
    """The caller's tasks, newest first: ``?limit=1..100&cursor=...``."""
    from chalicelib.paging import parse_limit
    from chalicelib.tasks.handlers import service

    params = web.query_params(app)
    page = service().list(web.current_user(app), parse_limit(params.get("limit")), params.get("cursor"))
    return {"tasks": [t.to_api() for t in page.tasks], "next_cursor": page.cursor}


@app.route("/tasks/{task_id}", methods=["GET"], authorizer=jwt_auth)
@web.endpoint
def get_task(task_id: str) -> dict:
    """One task with its status and event timeline (404 for another user's)."""
    from chalicelib.tasks.handlers import service

    return service().get(web.current_user(app), task_id).to_api()


@app.route("/tasks", methods=["OPTIONS"])
def tasks_preflight() -> Response:
    return cors.preflight(app.current_request, "GET,POST")


@app.route("/tasks/{task_id}", methods=["OPTIONS"])
def task_preflight(task_id: str) -> Response:
    return cors.preflight(app.current_request, "GET")


for _path, _methods in {**cors.PREFLIGHTS, **(cors.LOCAL_PREFLIGHTS if get_settings().is_local else {})}.items():
    app.route(_path, methods=["OPTIONS"], name=f"preflight:{_path}")(
        cors.preflight_view(lambda: app.current_request, _methods))


@app.lambda_function(name="task_worker")
def task_worker(event, context) -> dict:  # noqa: ANN001 - raw Lambda event and context
    """Invoked with InvocationType=Event: run the agent for one task (it stops before the
    invocation's remaining time runs out)."""
    from chalicelib.tasks.handlers import run_worker

    return run_worker(event, getattr(context, "get_remaining_time_in_millis", None))


@app.schedule(Rate(5, unit=Rate.MINUTES), name="task_sweeper")
def task_sweeper(event) -> dict:  # noqa: ANN001 - chalice CloudWatchEvent
    """Mark tasks stuck past TASK_DEADLINE_SECONDS as error: none stays pending forever."""
    from chalicelib.tasks.handlers import run_sweeper

    return run_sweeper()


# --- vendors ----------------------------------------------------------------------------------
# A vendor answers a quote request through the signed link e-mailed to them: no JWT, the token
# is the credential (chalicelib/vendors/links.py); they see only the description they were asked about.


@app.route("/vendor/quotes/{token}", methods=["GET"])
@web.endpoint
def vendor_quote_view(token: str) -> Response:
    """The quote request: JSON, or the HTML form when the client prefers text/html."""
    from chalicelib.vendors import api

    return api.view(app, token)


@app.route("/vendor/quotes/{token}", methods=["POST"],
           content_types=["application/json", "application/x-www-form-urlencoded"])
@web.endpoint
def vendor_quote_submit(token: str) -> Response:
    """Give the price and a note, once: 409 after, 410 when expired, 403 when altered."""
    from chalicelib.vendors import api

    return api.submit(app, token)


# --- pages ------------------------------------------------------------------------------------
# Activity -> pattern detector (5 min) -> generator (2 min) -> page cache -> instant API.


@app.route("/activity", methods=["POST"], authorizer=jwt_auth)
@web.endpoint
def record_activity() -> Response:
    """One event or ``{"events": [...]}`` (page or intent, action, metadata, timestamp);
    ``Idempotency-Key`` makes retries safe."""
    from chalicelib.pages.handlers import service

    body = web.json_body(app, get_settings().max_body_bytes)
    key = app.current_request.headers.get("idempotency-key")
    return Response(status_code=202, body=service().record(web.current_user(app), body, key))


@app.route("/pages", methods=["GET"], authorizer=jwt_auth)
@web.endpoint
def list_pages() -> dict:
    """The caller's fresh cached pages."""
    from chalicelib.pages.handlers import service

    return {"pages": service().list_pages(web.current_user(app))}


@app.route("/pages/{page_type}", methods=["GET"], authorizer=jwt_auth)
@web.endpoint
def get_page(page_type: str) -> dict:
    """A page from the cache (30 min validity) or, on a miss, generated now (once per key)."""
    from chalicelib.pages.handlers import service

    return service().get_page(web.current_user(app), page_type)


@app.schedule(Rate(5, unit=Rate.MINUTES), name="pattern_detector")
def pattern_detector(event) -> dict:  # noqa: ANN001 - chalice CloudWatchEvent
    """Find recurring patterns in recent activity and queue predicted pages; one user's error
    is counted and skipped, and the run stops before the deadline."""
    from chalicelib.pages.handlers import run_detector

    return run_detector(getattr(event.context, "get_remaining_time_in_millis", None))


@app.schedule(Rate(2, unit=Rate.MINUTES), name="page_generator")
def page_generator(event) -> dict:  # noqa: ANN001 - chalice CloudWatchEvent
    """Claim queued jobs and generate their pages with Claude; stops before the deadline."""
    from chalicelib.pages.handlers import run_generator

    return run_generator(getattr(event.context, "get_remaining_time_in_millis", None))
