"""The collections HTTP use cases: create an upload, list/get/delete items, list an item's
analyses, re-analyse, search.

Every method takes the authenticated ``user_id`` and touches only that user's rows; another
user's item is a 404, exactly like a missing one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib import errors, paging
from chalicelib.collections import answers, keys
from chalicelib.collections.events import ImageProcessed, publish
from chalicelib.collections.model import Analysis, Item, ItemCard, ItemStatus, ListedItem
from chalicelib.collections.repository import CollectionsRepository, shown_error
from chalicelib.collections.search import SearchIndex, parse_search_request
from chalicelib.collections.thumbnail_store import ensure_thumbnail
from chalicelib.errors import BadRequest, Conflict, NotFound
from chalicelib.ports import BlobStore, EventBus
from chalicelib.timeutil import iso_offset, utcnow

UPLOAD_URL_TTL = 900
_STATUS = re.compile(r"^[a-z_]{1,32}$")
_ANALYSIS_FIELDS = ("id", "version", "category", "headline", "summary", "provider_used", "model_used",
                    "created_at")


def _not_found(item_id: str) -> NotFound:
    """The 404 for an item the caller does not have (also another user's: never reveal it exists)."""
    return NotFound(f"item {item_id} not found")


class CollectionsService:
    """The API over the collections repository and search index. The event bus, embedder and
    answer LLM are factories: a request that does not need them never builds them (``answer_llm``
    returning None means answers are extractive, offline)."""

    def __init__(self, repository: CollectionsRepository, index: SearchIndex, blobs: BlobStore, bucket: str, *,
                 event_bus: Callable[[], EventBus], embedder: Callable[[], Any],
                 answer_llm: Callable[[], Any] = lambda: None) -> None:
        self.repository, self.index, self.blobs, self.bucket = repository, index, blobs, bucket
        self.event_bus, self.embedder, self.answer_llm = event_bus, embedder, answer_llm

    def create_item(self, user_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /items``: an item awaiting its upload and where to PUT its bytes (which starts
        the pipeline)."""
        filename = keys.validate_filename(body.get("filename"))
        content_type = keys.validate_content_type(body.get("content_type"), filename)
        item_id = str(uuid.uuid4())
        key = keys.upload_key(user_id, item_id, keys.extension_of(filename))
        self.repository.create_awaiting_upload(item_id=item_id, user_id=user_id, filename=filename, file_path=key,
                                               mime_type=content_type)
        upload = self.blobs.presigned_put(self.bucket, key, content_type, expires_in=UPLOAD_URL_TTL)
        return {"item_id": item_id, "status": ItemStatus.AWAITING_UPLOAD.value, "upload": upload}

    def list_items(self, user_id: str, params: Mapping[str, str] | None) -> dict[str, Any]:
        """``GET /items?limit&cursor&category&status``: newest first, ``next_cursor`` while more remain."""
        params = params or {}
        limit = paging.limit_from(params)
        category = (params.get("category") or "").strip().lower() or None
        status = (params.get("status") or "").strip().lower() or None
        if status is not None and not _STATUS.match(status):
            raise BadRequest("status must be an item status such as ready or failed", field="status")
        try:
            page = self.repository.list_page(user_id, limit, params.get("cursor") or None, category, status)
        except paging.BadCursor as exc:
            raise paging.bad_cursor_request() from exc
        return {"items": [self._listed(listed) for listed in page.items], "next_cursor": page.next_cursor}

    def get_item(self, user_id: str, item_id: str) -> dict[str, Any]:
        """``GET /items/{id}``: the item, its status (and error), thumbnail URL, latest analysis.
        ``thumbnail`` says whether the thumbnail object is ``present``, was ``rebuilt`` from the
        original (it had expired), is ``missing`` (original gone too: no URL) or ``none`` yet."""
        found = self.repository.find_with_analysis(user_id, item_id)
        if found is None:
            raise _not_found(item_id)
        item, latest = found
        thumbnail = ensure_thumbnail(self.blobs, self.bucket, item)  # rebuilt if the lifecycle rule expired it
        body = self._summary(item, latest.category if latest else None, latest.headline if latest else None)
        if thumbnail == "missing":
            body["thumbnail_url"] = None
        body["thumbnail"] = thumbnail
        # The original exists once the thumbnail was made from it (or rebuilt from it just now).
        body["original_url"] = (self.blobs.presigned_get(self.bucket, item.file_path)
                                if thumbnail in ("present", "rebuilt") else None)
        body["latest_analysis"] = _analysis(latest) if latest else None
        return body

    def list_analyses(self, user_id: str, item_id: str) -> dict[str, Any]:
        """``GET /items/{id}/analyses``: every version, newest first."""
        versions = self.repository.analyses_of(user_id, item_id)
        if versions is None:
            raise _not_found(item_id)
        return {"item_id": item_id, "analyses": [_analysis(analysis) for analysis in versions]}

    def delete_item(self, user_id: str, item_id: str) -> None:
        """``DELETE /items/{id}``: the original and thumbnail objects, then the rows (analyses and
        embeddings cascade). Objects go first so a failure leaves a retryable item, not orphans."""
        item = self._owned(user_id, item_id)
        for key in (item.file_path, item.thumbnail_path):
            if key:
                self.blobs.delete(self.bucket, key)
        self.repository.delete_owned(user_id, item_id)

    def reanalyze(self, user_id: str, item_id: str, idempotency_key: str | None = None) -> dict[str, Any]:
        """``POST /items/{id}/analyze``: publish ``ImageProcessed`` again with a new request id, so
        the analyzer writes a new version (the same ``Idempotency-Key`` gives the same version)."""
        idempotency_key = errors.idempotency_key(idempotency_key)
        request_id = f"reanalyze:{item_id}:{idempotency_key or uuid.uuid4()}"
        item = self.repository.start_reanalysis(user_id, item_id)
        if item is None:
            raise _not_found(item_id)
        if not item.thumbnail_path:
            raise Conflict("the image has not been uploaded and processed yet; upload it first")
        publish(self.event_bus(), ImageProcessed(
            item_id=item_id, user_id=user_id, bucket=self.bucket, original_key=item.file_path,
            thumbnail_key=item.thumbnail_path, request_id=request_id, started_at=iso_offset(utcnow())))
        return {"item_id": item_id, "status": ItemStatus.PROCESSING.value, "request_id": request_id}

    def search(self, user_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /search``; with ``"answer": true`` also an answer grounded in the top results
        (:mod:`chalicelib.collections.answers`: never an error of its own)."""
        request = parse_search_request(body)
        wants_answer = answers.requested(body)
        embedder = self.embedder() if request.mode != "keyword" else None  # keyword search needs no provider
        results = [self._result(hit.score, hit.card) for hit in self.index.search(embedder, user_id, request)]
        response = {"query": request.query, "mode": request.mode, "results": results}
        if wants_answer:
            response.update(answers.answer(repository=self.repository, llm=self.answer_llm, user_id=user_id,
                                           query=request.query, results=results))
        return response

    # --- shapes ----------------------------------------------------------------------------------

    def _owned(self, user_id: str, item_id: str) -> Item:
        """The caller's item, or 404."""
        item = self.repository.find(user_id, item_id)
        if item is None:
            raise _not_found(item_id)
        return item

    def _thumbnail_url(self, key: str | None) -> str | None:
        return self.blobs.presigned_get(self.bucket, key) if key else None

    def _summary(self, item: Item, category: str | None = None, headline: str | None = None) -> dict[str, Any]:
        assert item.created_at is not None
        return {
            "item_id": item.id,
            "filename": item.filename,
            "mime_type": item.mime_type,
            "status": item.status.value,
            "error": shown_error(item.status, item.error),
            "category": category,
            "headline": headline,
            "thumbnail_url": self._thumbnail_url(item.thumbnail_path),
            "created_at": iso_offset(item.created_at),
        }

    def _listed(self, listed: ListedItem) -> dict[str, Any]:
        return self._summary(listed.item, listed.category, listed.headline)

    def _result(self, score: float, card: ItemCard) -> dict[str, Any]:
        return {"item_id": card.item_id, "score": round(score, 6), "category": card.category,
                "headline": card.headline, "summary": card.summary,
                "thumbnail_url": self._thumbnail_url(card.thumbnail_path)}


def _analysis(analysis: Analysis) -> dict[str, Any]:
    body = {name: getattr(analysis, name) for name in _ANALYSIS_FIELDS}
    body["created_at"] = iso_offset(analysis.created_at)
    body["analysis"] = analysis.raw_response
    return body
