"""``PUT/GET /local/blobs``: what a presigned S3 URL is in the local stage.

The URL carries ``bucket``, ``key``, ``expires`` and an HMAC ``signature`` issued by
:class:`localdev.blobs.LocalBlobStore`. A PUT writes the object, which queues the S3
ObjectCreated event exactly as an upload to S3 would; a GET serves it. Refusals follow S3's:
403 ``request_expired`` after the expiry, 403 ``signature_does_not_match`` when anything signed
differs, a PUT's Content-Type included.
"""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import errors, wiring
from chalicelib.ports import BlobNotFound
from chalicelib.settings import get_settings


class RequestExpired(errors.AppError):
    """S3's ``AccessDenied: Request has expired``."""

    status = 403
    code = "request_expired"


class SignatureDoesNotMatch(errors.AppError):
    """S3's ``SignatureDoesNotMatch``: the URL was changed or a signed header differs."""

    status = 403
    code = "signature_does_not_match"


def _content_type(request: Any) -> str:
    return (request.headers.get("content-type") or "").strip()


def _signed_target(request: Any, method: str) -> tuple[Any, str, str]:
    settings = get_settings()
    if not settings.is_local:
        raise errors.NotFound("local blob URLs exist only in the local stage")
    params = dict(request.query_params or {})
    missing = [name for name in ("bucket", "key", "expires", "signature") if not params.get(name)]
    if missing:
        raise errors.BadRequest(f"missing query parameter(s): {', '.join(missing)}", field=missing[0])
    store = wiring.blob_store()
    if store.expired(params["expires"]):
        raise RequestExpired("the signed URL has expired; ask the API for a new one")
    content_type = _content_type(request) if method == "PUT" else ""
    if not store.verify_signature(params["bucket"], params["key"], params["expires"], params["signature"],
                                  method=method, content_type=content_type):
        what = f"a {method} of this URL"
        if method == "PUT":
            what += f" with Content-Type {content_type or '(none)'}"
        raise SignatureDoesNotMatch(
            f"the signature does not match {what}: send the URL unchanged with the headers it was issued "
            "with (the Content-Type of the upload URL's headers)")
    return store, params["bucket"], params["key"]


def accept_upload(request: Any) -> Response:
    """Write the request body to the signed bucket/key (and so queue the S3 event)."""
    store, bucket, key = _signed_target(request, "PUT")
    body = request.raw_body or b""
    limit = get_settings().max_upload_bytes
    if len(body) > limit:
        raise errors.PayloadTooLarge(f"upload is {len(body)} bytes; the limit is {limit}")
    content_type = _content_type(request).split(";")[0] or "application/octet-stream"
    store.put(bucket, key, body, content_type)
    meta = store.head(bucket, key)
    return Response(body={"bucket": bucket, "key": key, "size": len(body), "etag": meta.get("etag")},
                    status_code=200)


def serve_download(request: Any) -> Response:
    """The bytes of the signed bucket/key with their content type."""
    store, bucket, key = _signed_target(request, "GET")
    try:
        data = store.get(bucket, key)
        content_type = store.head(bucket, key).get("content_type") or "application/octet-stream"
    except BlobNotFound:
        raise errors.NotFound("no such object") from None
    return Response(body=data, status_code=200, headers={"Content-Type": content_type})
