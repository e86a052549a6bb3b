"""``PUT/GET /local/blobs``: what a presigned S3 URL is in the local stage.

The URL carries ``bucket``, ``key``, ``expires`` and an HMAC ``signature`` issued by
:class:`localdev.blobs.LocalBlobStore`. A PUT writes the object, which queues the S3
ObjectCreated event exactly as an upload to S3 would; a GET serves it.
"""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import errors, wiring
from chalicelib.ports import BlobNotFound
from chalicelib.settings import get_settings


class Forbidden(errors.AppError):
    status = 403
    code = "forbidden"


def _signed_target(request: Any, method: str) -> tuple[Any, str, str]:
    settings = get_settings()
    if not settings.is_local:
        raise errors.NotFound("local blob URLs exist only in the local stage")
    params = dict(request.query_params or {})
    missing = [name for name in ("bucket", "key", "expires", "signature") if not params.get(name)]
    if missing:
        raise errors.BadRequest(f"missing query parameter(s): {', '.join(missing)}", field=missing[0])
    store = wiring.blob_store()
    try:
        valid = store.verify_signature(params["bucket"], params["key"], params["expires"], params["signature"],
                                       method=method)
    except ValueError:
        valid = False
    if not valid:
        raise Forbidden("signature is invalid or expired; ask the API for a new upload URL")
    return store, params["bucket"], params["key"]


def accept_upload(request: Any) -> Response:
    """Write the request body to the signed bucket/key (and so queue the S3 event)."""
    store, bucket, key = _signed_target(request, "PUT")
    body = request.raw_body or b""
    limit = get_settings().max_upload_bytes
    if len(body) > limit:
        raise errors.PayloadTooLarge(f"upload is {len(body)} bytes; the limit is {limit}")
    content_type = (request.headers.get("content-type") or "application/octet-stream").split(";")[0]
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
