"""The Chalice app: every route, S3 handler, schedule, EventBridge handler and async Lambda.

Handlers stay a few lines long and delegate to ``chalicelib``. Nothing heavy is imported
here (no AI SDK, no Pillow): adapters are built lazily by :mod:`chalicelib.wiring`.
"""

from __future__ import annotations

import logging

from chalice import AuthResponse, Chalice, Response

from chalicelib import auth, web
from chalicelib.settings import get_settings

app = Chalice(app_name="ai-backend")
app.log.setLevel(getattr(logging, get_settings().log_level, logging.INFO))
app.register_middleware(web.normalize_chalice_errors, "http")


@app.authorizer()
def jwt_auth(auth_request):  # noqa: ANN001, ANN201 - Chalice's AuthRequest/AuthResponse
    """Bearer JWT: 401 when missing, malformed, expired or badly signed; the user is ``sub``."""
    try:
        claims = auth.verify_token(auth_request.token)
    except auth.Unauthorized as exc:
        raise auth.unauthorized(exc.reason) from None
    return AuthResponse(routes=["*"], principal_id=claims["sub"])


# --- platform ---------------------------------------------------------------------------------


@app.route("/health", methods=["GET"])
@web.endpoint
def health() -> Response:
    """Stage, version, database reachability and which providers are real or offline."""
    from chalicelib.health import health_report

    report = health_report()
    return Response(body=report, status_code=200 if report["database"]["reachable"] else 503)


@app.route("/me", methods=["GET"], authorizer=jwt_auth)
@web.endpoint
def me() -> dict:
    """The authenticated caller, as the API sees them."""
    return {"user_id": web.current_user(app)}


@app.route(
    "/local/blobs",
    methods=["PUT"],
    content_types=["application/octet-stream", "image/jpeg", "image/png", "image/gif", "image/webp"],
)
@web.endpoint
def local_blob_upload() -> Response:
    """Local stage only: the target of a presigned PUT (``?bucket&key&expires&signature``).
    Writing the object queues the S3 ObjectCreated event, as S3 would."""
    from chalicelib.local.uploads import accept_upload

    return accept_upload(app.current_request)


@app.route("/local/blobs", methods=["GET"])
@web.endpoint
def local_blob_download() -> Response:
    """Local stage only: the target of a presigned GET (thumbnails, originals)."""
    from chalicelib.local.uploads import serve_download

    return serve_download(app.current_request)
