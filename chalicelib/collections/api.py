"""The HTTP API's logic: create an upload, list/get/delete items, re-analyse, search.

Every function takes the authenticated ``user_id`` and touches only that user's rows; another
user's item is a 404, exactly like a missing one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, select

from chalicelib import errors
from chalicelib.collections import answers, items, keys
from chalicelib.collections.events import ImageProcessed, publish
from chalicelib.collections.search import DEFAULT_EXACT_MAX_ROWS, parse_search_request, search
from chalicelib.collections.tables import AWAITING_UPLOAD, analyses
from chalicelib.collections.thumbnail_store import ensure_thumbnail
from chalicelib.errors import BadRequest, Conflict
from chalicelib.ports import BlobStore, EventBus

UPLOAD_URL_TTL = 900
_STATUS = re.compile(r"^[a-z_]{1,32}$")
DEFAULT_PAGE = 20
MAX_PAGE = 100
_ANALYSIS_FIELDS = ("id", "version", "category", "headline", "summary", "provider_used", "model_used",
                    "created_at")


@dataclass(frozen=True)
class Collections:
    """The adapters the API works with (built by :mod:`chalicelib.collections.entry`). The
    event bus and embedder are factories: a request that does not need them never builds them."""

    engine: Engine
    blobs: BlobStore
    bucket: str
    event_bus: Callable[[], EventBus]
    embedder: Callable[[], Any]
    exact_max_rows: int = DEFAULT_EXACT_MAX_ROWS
    #: Builds the LLM that answers searches; None from it means answers are extractive (offline).
    answer_llm: Callable[[], Any] = lambda: None


def create_item(svc: Collections, user_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """``POST /items``: an item awaiting its upload and where to PUT its bytes (which starts the pipeline)."""
    filename = keys.validate_filename(body.get("filename"))
    content_type = keys.validate_content_type(body.get("content_type"), filename)
    item_id = str(uuid.uuid4())
    key = keys.upload_key(user_id, item_id, keys.extension_of(filename))
    with svc.engine.begin() as conn:
        items.create_awaiting_upload(conn, item_id=item_id, user_id=user_id, filename=filename, file_path=key,
                                     mime_type=content_type)
    upload = svc.blobs.presigned_put(svc.bucket, key, content_type, expires_in=UPLOAD_URL_TTL)
    return {"item_id": item_id, "status": AWAITING_UPLOAD, "upload": upload}


def _page_limit(params: Mapping[str, str]) -> int:
    raw = params.get("limit", str(DEFAULT_PAGE))
    try:
        limit = int(raw)
    except ValueError:
        raise BadRequest(f"limit must be an integer from 1 to {MAX_PAGE}", field="limit") from None
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be an integer from 1 to {MAX_PAGE}", field="limit")
    return limit


def list_items(svc: Collections, user_id: str, params: Mapping[str, str]) -> dict[str, Any]:
    """``GET /items?limit&cursor&category&status``: newest first, ``next_cursor`` while more remain."""
    limit = _page_limit(params)
    category = (params.get("category") or "").strip().lower() or None
    status = (params.get("status") or "").strip().lower() or None
    if status is not None and not _STATUS.match(status):
        raise BadRequest("status must be an item status such as ready or failed", field="status")
    with svc.engine.connect() as conn:
        rows, next_cursor = items.list_page(conn, user_id, limit, params.get("cursor") or None, category, status)
    return {
        "items": [_item_summary(svc, row) for row in rows],
        "next_cursor": next_cursor,
    }


def _item_summary(svc: Collections, row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "item_id": row["id"],
        "filename": row["filename"],
        "mime_type": row["mime_type"],
        "status": row["status"],
        "error": items.shown_error(row["status"], row["error"]),
        "category": row.get("category"),
        "headline": row.get("headline"),
        "thumbnail_url": svc.blobs.presigned_get(svc.bucket, row["thumbnail_path"])
        if row["thumbnail_path"] else None,
        "created_at": row["created_at"].isoformat(),
    }


def _analysis(row: Mapping[str, Any]) -> dict[str, Any]:
    body = {name: row[name] for name in _ANALYSIS_FIELDS}
    body["created_at"] = row["created_at"].isoformat()
    body["analysis"] = row["raw_response"]
    return body


def get_item(svc: Collections, user_id: str, item_id: str) -> dict[str, Any]:
    """``GET /items/{id}``: the item, its status (and error), thumbnail URL, latest analysis.
    ``thumbnail`` says whether the thumbnail object is ``present``, was ``rebuilt`` from the
    original (it had expired), is ``missing`` (original gone too: no URL) or ``none`` yet."""
    with svc.engine.connect() as conn:
        row = items.get_owned(conn, user_id, item_id)
        latest = None
        if row["current_analysis_id"]:
            latest = conn.execute(
                select(analyses).where(analyses.c.id == row["current_analysis_id"])
            ).mappings().first()
    thumbnail = ensure_thumbnail(svc.blobs, svc.bucket, row)  # rebuilt if the lifecycle rule expired it
    body = _item_summary(svc, row)
    if thumbnail == "missing":
        body["thumbnail_url"] = None
    body["thumbnail"] = thumbnail
    # The original exists once the thumbnail was made from it (or rebuilt from it just now).
    body["original_url"] = (svc.blobs.presigned_get(svc.bucket, row["file_path"])
                            if thumbnail in ("present", "rebuilt") else None)
    body["category"] = latest["category"] if latest else None
    body["headline"] = latest["headline"] if latest else None
    body["latest_analysis"] = _analysis(latest) if latest else None
    return body


def list_analyses(svc: Collections, user_id: str, item_id: str) -> dict[str, Any]:
    """``GET /items/{id}/analyses``: every version, newest first."""
    with svc.engine.connect() as conn:
        items.get_owned(conn, user_id, item_id)
        rows = conn.execute(
            select(analyses).where(analyses.c.item_id == item_id, analyses.c.user_id == user_id)
            .order_by(analyses.c.version.desc())
        ).mappings().all()
    return {"item_id": item_id, "analyses": [_analysis(row) for row in rows]}


def delete_item(svc: Collections, user_id: str, item_id: str) -> None:
    """``DELETE /items/{id}``: the original and thumbnail objects, then the rows (analyses and
    embeddings cascade). Objects go first so a failure leaves a retryable item, not orphans."""
    with svc.engine.connect() as conn:
        row = items.get_owned(conn, user_id, item_id)
    for key in (row["file_path"], row["thumbnail_path"]):
        if key:
            svc.blobs.delete(svc.bucket, key)
    with svc.engine.begin() as conn:
        conn.execute(delete(items.items).where(items.items.c.id == item_id, items.items.c.user_id == user_id))


def reanalyze(svc: Collections, user_id: str, item_id: str, idempotency_key: str | None = None) -> dict[str, Any]:
    """``POST /items/{id}/analyze``: publish ``ImageProcessed`` again with a new request id, so
    the analyzer writes a new version (the same ``Idempotency-Key`` gives the same version)."""
    idempotency_key = errors.idempotency_key(idempotency_key)
    request_id = f"reanalyze:{item_id}:{idempotency_key or uuid.uuid4()}"
    with svc.engine.begin() as conn:
        row = items.get_owned(conn, user_id, item_id)
        if not row["thumbnail_path"]:
            raise Conflict("the image has not been uploaded and processed yet; upload it first")
        items.set_status(conn, item_id, "processing")
    publish(svc.event_bus(), ImageProcessed(
        item_id=item_id, user_id=user_id, bucket=svc.bucket, original_key=row["file_path"],
        thumbnail_key=row["thumbnail_path"], request_id=request_id, started_at=datetime.now(UTC).isoformat()))
    return {"item_id": item_id, "status": "processing", "request_id": request_id}


def search_items(svc: Collections, user_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """``POST /search``; with ``"answer": true`` also an answer grounded in the top results
    (:mod:`chalicelib.collections.answers`: never an error of its own)."""
    request = parse_search_request(body)
    wants_answer = answers.requested(body)
    embedder = svc.embedder() if request.mode != "keyword" else None  # keyword search needs no provider
    results = search(engine=svc.engine, embedder=embedder, blobs=svc.blobs, bucket=svc.bucket,
                     user_id=user_id, request=request, exact_max_rows=svc.exact_max_rows)
    response = {"query": request.query, "mode": request.mode, "results": results}
    if wants_answer:
        response.update(answers.answer(engine=svc.engine, llm=svc.answer_llm, user_id=user_id,
                                       query=request.query, results=results))
    return response
