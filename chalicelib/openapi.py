"""The API's contract: an OpenAPI 3.1 document of every route, served at ``GET /openapi.json``.

Schemas are JSON Schema 2020-12 (OpenAPI 3.1), so tests validate real responses against them
with ``jsonschema``. ``tests/contract`` keeps the document true: its routes are exactly Chalice's,
every response of a flow through every route has a documented status and validates against its
schema, and schemathesis fuzzes the local server from it.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

_NULLABLE_STR = {"type": ["string", "null"]}
_ID = {"type": "string", "minLength": 1}
_TIME = {"type": "string", "format": "date-time"}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}},
        }},
    },
    "Unauthorized": {  # API Gateway's own answer when the authorizer rejects the token
        "type": "object", "required": ["message"], "properties": {"message": {"const": "Unauthorized"}},
    },
    "Health": {
        "type": "object", "required": ["status", "stage", "version", "database", "providers"],
        "properties": {"status": {"type": "string"}, "stage": {"type": "string"}, "version": {"type": "string"},
                       "database": {"type": "object", "required": ["reachable"],
                                    "properties": {"reachable": {"type": "boolean"}}},
                       "providers": {"type": "object"}},
    },
    "Me": {"type": "object", "required": ["user_id"], "properties": {"user_id": _ID}},
    "BlobWritten": {"type": "object", "required": ["bucket", "key", "size"],
                    "properties": {"bucket": {"type": "string"}, "key": {"type": "string"},
                                   "size": {"type": "integer"}, "etag": _NULLABLE_STR}},
    # --- collections
    "ItemCreate": {
        "type": "object", "required": ["filename", "content_type"],
        "properties": {"filename": {"type": "string", "minLength": 1, "maxLength": 255},
                       "content_type": {"enum": ["image/jpeg", "image/png"]}},
    },
    "ItemCreated": {
        "type": "object", "required": ["item_id", "status", "upload"],
        "properties": {"item_id": _ID, "status": {"const": "awaiting_upload"}, "upload": {
            "type": "object", "required": ["url", "method", "headers"],
            "properties": {"url": {"type": "string"}, "method": {"const": "PUT"}, "headers": {"type": "object"}}}},
    },
    "ItemSummary": {
        "type": "object",
        "required": ["item_id", "filename", "mime_type", "status", "error", "category", "headline",
                     "thumbnail_url", "created_at"],
        "properties": {"item_id": _ID, "filename": {"type": "string"}, "mime_type": {"type": "string"},
                       "status": {"enum": ["awaiting_upload", "processing", "ready", "failed"]},
                       "error": _NULLABLE_STR, "category": _NULLABLE_STR, "headline": _NULLABLE_STR,
                       "thumbnail_url": _NULLABLE_STR, "created_at": _TIME},
    },
    "Analysis": {
        "type": "object",
        "required": ["id", "version", "category", "headline", "summary", "provider_used", "model_used",
                     "created_at", "analysis"],
        "properties": {"id": _ID, "version": {"type": "integer", "minimum": 1}, "category": {"type": "string"},
                       "headline": _NULLABLE_STR, "summary": _NULLABLE_STR,
                       "provider_used": {"enum": ["anthropic", "offline"]}, "model_used": {"type": "string"},
                       "created_at": _TIME, "analysis": {"type": "object"}},
    },
    "Item": {
        "allOf": [{"$ref": "#/components/schemas/ItemSummary"}, {
            "type": "object", "required": ["thumbnail", "original_url", "latest_analysis"],
            "properties": {"thumbnail": {"enum": ["present", "rebuilt", "missing", "none"]},
                           "original_url": _NULLABLE_STR,
                           "latest_analysis": {"oneOf": [{"type": "null"},
                                                         {"$ref": "#/components/schemas/Analysis"}]}}}],
    },
    "ItemList": {"type": "object", "required": ["items", "next_cursor"],
                 "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/ItemSummary"}},
                                "next_cursor": _NULLABLE_STR}},
    "AnalysisList": {"type": "object", "required": ["item_id", "analyses"],
                     "properties": {"item_id": _ID,
                                    "analyses": {"type": "array", "items": {"$ref": "#/components/schemas/Analysis"}}}},
    "Reanalysis": {"type": "object", "required": ["item_id", "status", "request_id"],
                   "properties": {"item_id": _ID, "status": {"const": "processing"}, "request_id": {"type": "string"}}},
    "SearchRequest": {
        "type": "object", "required": ["query"],
        "properties": {"query": {"type": "string", "minLength": 1, "maxLength": 1000},
                       "mode": {"enum": ["keyword", "vector", "hybrid"], "default": "hybrid"},
                       "top_k": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
                       "category": {"type": "string", "minLength": 1, "maxLength": 100},
                       "min_score": {"type": "number", "minimum": -1, "maximum": 1, "description":
                                     "drop results scoring below this instead of the mode's floor (keyword and "
                                     "hybrid scores are 0..1, vector scores cosine similarities)"},
                       "answer": {"type": "boolean", "default": False,
                                  "description": "also answer the query from the top results, with citations"}},
    },
    "SearchResults": {
        "type": "object", "required": ["query", "mode", "results"],
        "properties": {"query": {"type": "string"}, "mode": {"enum": ["keyword", "vector", "hybrid"]},
                       "results": {"type": "array", "items": {
                           "type": "object", "required": ["item_id", "score", "category", "headline", "summary",
                                                          "thumbnail_url"],
                           "properties": {"item_id": _ID, "score": {"type": "number"}, "category": _NULLABLE_STR,
                                          "headline": _NULLABLE_STR, "summary": _NULLABLE_STR,
                                          "thumbnail_url": _NULLABLE_STR}}},
                       # Present only when the request asked for an answer; exactly one of them is null.
                       "answer": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/SearchAnswer"}]},
                       "answer_error": {"oneOf": [{"type": "null"}, {
                           "type": "object", "required": ["code", "message"],
                           "properties": {"code": {"enum": ["no_results", "provider_unavailable", "unusable_output",
                                                            "provider_error", "internal_error"]},
                                          "message": {"type": "string"}}}]}},
    },
    "SearchAnswer": {
        "type": "object", "required": ["text", "citations", "provider_used", "model_used"],
        "description": "Model output: plain text, never markup; grounded only in the top results.",
        "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 1200},
                       "citations": {"type": "array", "maxItems": 10, "items": _ID,
                                     "description": "ids of result items the answer used (only ids in results)"},
                       "provider_used": {"type": "string"}, "model_used": {"type": "string"}},
    },
    # --- tasks
    "TaskCreate": {"type": "object", "required": ["description"],
                   "properties": {"description": {"type": "string", "minLength": 1}}},
    "TaskAccepted": {"type": "object", "required": ["id", "status", "message"],
                     "properties": {"id": _ID, "message": {"type": "string"},
                                    # pending when new; a replayed Idempotency-Key answers the task's status now
                                    "status": {"enum": ["pending", "processing", "completed", "error"]}}},
    "TaskEvent": {"type": "object", "required": ["ts", "message", "type"],
                  "properties": {"ts": {"type": "string"}, "message": {"type": "string"},
                                 "type": {"enum": ["info", "success", "warning", "error"]}}},
    "Task": {
        "type": "object",
        "required": ["id", "description", "status", "agent_response", "vendors", "quotes", "emails_sent",
                     "events", "error_message", "provider_used", "created_at", "updated_at"],
        "properties": {"id": _ID, "description": {"type": "string"},
                       "status": {"enum": ["pending", "processing", "completed", "error"]},
                       "agent_response": _NULLABLE_STR,
                       "vendors": {"type": "array", "items": {"$ref": "#/components/schemas/TaskVendor"}},
                       "quotes": {"type": "array", "items": {"$ref": "#/components/schemas/TaskQuote"}},
                       "emails_sent": {"type": "integer", "minimum": 0},
                       "events": {"type": "array", "items": {"$ref": "#/components/schemas/TaskEvent"}},
                       "error_message": _NULLABLE_STR, "provider_used": _NULLABLE_STR,
                       "created_at": {"type": "string"}, "updated_at": {"type": "string"}},
    },
    # What the agent's tools did (AgentCore's own report has only the first fields of each).
    "TaskVendor": {"type": "object", "required": ["name"],
                   "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "email": _NULLABLE_STR,
                                  "phone": _NULLABLE_STR, "trades": {"type": "array", "items": {"type": "string"}},
                                  "areas": {"type": "array", "items": {"type": "string"}}, "source": {"type": "string"},
                                  "quote_request_id": {"type": "string"}, "status": {"enum": ["sent", "answered"]},
                                  "emailed_at": _NULLABLE_STR}},
    "TaskQuote": {"type": "object", "required": ["vendor", "price", "currency"],
                  "properties": {"quote_request_id": {"type": "string"}, "vendor_id": {"type": "string"},
                                 "vendor": {"type": "string"}, "price": {"type": "number", "minimum": 0},
                                 "currency": {"type": "string"}, "note": {"type": "string"},
                                 "received_at": {"type": "string"}}},
    "VendorQuoteRequest": {
        "type": "object", "required": ["vendor", "description", "expires_at", "answered", "quote"],
        "properties": {"vendor": {"type": "string"}, "description": {"type": "string"},
                       "expires_at": {"type": "string"}, "answered": {"type": "boolean"},
                       "quote": {"oneOf": [{"type": "null"}, {
                           "type": "object", "required": ["price", "currency", "note", "received_at"],
                           "properties": {"price": {"type": "number", "exclusiveMinimum": 0},
                                          "currency": {"type": "string"}, "note": {"type": "string"},
                                          "received_at": {"type": "string"}}}]}},
    },
    "VendorQuoteAnswer": {
        "type": "object", "required": ["price", "currency"], "additionalProperties": False,
        "properties": {"price": {"type": ["number", "string"], "description": "more than 0, at most QUOTE_MAX_PRICE, "
                                                                              "at most 2 decimal places"},
                       "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$"},
                       "note": {"type": "string", "maxLength": 2000}},
    },
    "TaskList": {"type": "object", "required": ["tasks", "next_cursor"],
                 "properties": {"tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
                                "next_cursor": _NULLABLE_STR}},
    # --- pages
    "ActivityEvent": {
        "type": "object", "required": ["action"],
        "properties": {"page": {"type": "string"}, "intent": {"type": "string"},
                       "action": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"},
                       "metadata": {"type": "object"}, "timestamp": {"type": "string", "format": "date-time"}},
    },
    "Activity": {"oneOf": [
        {"$ref": "#/components/schemas/ActivityEvent"},
        {"type": "object", "required": ["events"], "properties": {"events": {
            "type": "array", "minItems": 1, "maxItems": 100, "items": {"$ref": "#/components/schemas/ActivityEvent"}}}},
    ]},
    "ActivityAccepted": {"type": "object", "required": ["accepted", "replayed"],
                         "properties": {"accepted": {"type": "integer", "minimum": 1},
                                        "replayed": {"type": "boolean"}}},
    "Page": {
        "type": "object",
        "required": ["page_type", "components", "source", "relevance_score", "provider_used", "model_used",
                     "generated_at", "expires_at"],
        "properties": {"page_type": {"type": "string"},
                       "components": {"type": "object", "required": ["title", "components"],
                                      "properties": {"title": {"type": "string"},
                                                     "components": {"type": "array", "items": {
                                                         "type": "object", "required": ["type", "title"]}}}},
                       "source": {"enum": ["cache", "generated"]}, "relevance_score": {"type": ["number", "null"]},
                       "provider_used": {"enum": ["anthropic", "offline"]}, "model_used": _NULLABLE_STR,
                       "generated_at": {"type": "string"}, "expires_at": {"type": "string"}},
    },
    # --- console and local stage
    "ConsoleConfig": {
        "type": "object", "required": ["stage", "local", "version", "cognito", "aws_links"],
        "properties": {"stage": {"type": "string"}, "local": {"type": "boolean"}, "version": {"type": "string"},
                       "cognito": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["domain", "client_id"]}]},
                       "aws_links": {"oneOf": [{"type": "null"},
                                               {"type": "object", "required": ["dashboard", "alarms"]}]}},
    },
    "LocalTokenRequest": {"type": "object", "required": ["user"],
                          "properties": {"user": {"type": "string", "pattern": "^[A-Za-z0-9_.@-]{1,64}$"}}},
    "LocalToken": {"type": "object", "required": ["user_id", "token", "expires_at"],
                   "properties": {"user_id": _ID, "token": {"type": "string"}, "expires_at": _TIME}},
    "Delivery": {
        "type": "object",
        "required": ["id", "kind", "target", "status", "attempts", "max_attempts", "reason", "error",
                     "created_at", "updated_at", "finished_at"],
        "properties": {"id": _ID, "kind": {"enum": ["s3", "event", "schedule", "invoke"]}, "target": {"type": "string"},
                       "status": {"enum": ["queued", "running", "succeeded", "failed"]},
                       "attempts": {"type": "integer"}, "max_attempts": {"type": "integer"},
                       "reason": _NULLABLE_STR, "error": _NULLABLE_STR, "created_at": _TIME, "updated_at": _TIME,
                       "finished_at": _NULLABLE_STR},
    },
    "DeliveryList": {"type": "object", "required": ["deliveries", "counts"],
                     "properties": {"deliveries": {"type": "array", "items": {"$ref": "#/components/schemas/Delivery"}},
                                    "counts": {"type": "object"}}},
    "ScheduleList": {"type": "object", "required": ["schedules"], "properties": {"schedules": {
        "type": "array", "items": {"type": "object", "required": ["name", "expression", "last_fire_at", "next_fire_at"],
                                   "properties": {"name": {"type": "string"}, "expression": {"type": "string"},
                                                  "last_fire_at": _NULLABLE_STR, "next_fire_at": _NULLABLE_STR}}}}},
    "Fired": {"type": "object", "required": ["schedule", "delivery_id"],
              "properties": {"schedule": {"type": "string"}, "delivery_id": _ID}},
    "Outbox": {"type": "object", "required": ["messages"], "properties": {"messages": {
        "type": "array", "items": {"type": "object", "required": ["file", "date", "to", "subject", "body", "links"],
                                   "properties": {"file": {"type": "string"}, "date": {"type": "string"},
                                                  "to": {"type": "string"}, "subject": {"type": "string"},
                                                  "body": {"type": "string"},
                                                  "links": {"type": "array", "items": {"type": "string"}}}}}}},
    "MetricSums": {"type": "object", "required": ["metrics"], "properties": {"metrics": {
        "type": "array", "items": {"type": "object", "required": ["metric", "dimensions", "unit", "count", "sum"]}}}},
    "PageList": {"type": "object", "required": ["pages"],
                 "properties": {"pages": {"type": "array", "items": {"$ref": "#/components/schemas/Page"}}}},
}

_ERRORS = {
    400: "The request is malformed or a field is invalid (`error.field` names it)",
    401: "No bearer token, or one that is malformed, expired or badly signed",
    403: "The signed URL is invalid or expired",
    404: "No such resource for this caller (another user's resources are 404 too)",
    409: "The request conflicts with the resource's state",
    410: "The signed link has expired",
    413: "The body is over the size limit",
    415: "The body must be application/json",
    429: "A per-user limit was reached; retry after `Retry-After` seconds",
    500: "An unexpected error (logged with its trace id)",
    502: "An AI provider refused the request (a server configuration problem, logged); retrying will not help",
    503: "A dependency (database, AWS, an AI provider) is unavailable; retry after `Retry-After` seconds",
}


#: On every response the app answers (API Gateway's own 401 and 403 carry no trace id).
TRACE_HEADER = {"X-Trace-Id": {"description": "The request's trace id, as logged (send it to support)",
                               "schema": {"type": "string", "minLength": 1}}}
#: On every 503 and 429: when to retry.
RETRY_HEADER = {"Retry-After": {"description": "Seconds to wait before retrying", "required": True,
                                "schema": {"type": "string", "pattern": "^[0-9]+$"}}}


def _headers(code: int) -> dict[str, Any]:
    if code == 401:
        return {}
    return {"headers": {**TRACE_HEADER, **(RETRY_HEADER if code in (429, 503) else {})}}


def _json(schema: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _op(summary: str, ok: int, schema: str | None, *errors: int, auth: bool = True,
        body: str | None = None, params: list[dict[str, Any]] | None = None,
        ok_description: str = "Success") -> dict[str, Any]:
    responses: dict[str, Any] = {str(ok): {"description": ok_description, **_headers(ok),
                                           **(_json(schema) if schema else {})}}
    codes = set(errors) | {500} | ({401} if auth else set())
    for code in sorted(codes):
        responses[str(code)] = {"description": _ERRORS[code], **_headers(code),
                                **_json("Unauthorized" if code == 401 else "Error")}
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if auth:
        op["security"] = [{"bearer": []}]
    else:
        op["security"] = []
    if body:
        op["requestBody"] = {"required": True, **_json(body)}
    if params:
        op["parameters"] = params
    return op


def _path_param(name: str, pattern: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "minLength": 1}
    if pattern:
        schema["pattern"] = pattern
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


_IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 128}}
_TOKEN = [_path_param("token", r"^[0-9a-f-]{36}\.[0-9]{1,12}\.[A-Za-z0-9_-]{43}$")]
_PAGING = [_query("limit", {"type": "integer", "minimum": 1, "maximum": 100}), _query("cursor", {"type": "string"})]
_SIGNED = [_query("bucket", {"type": "string"}), _query("key", {"type": "string"}),
           _query("expires", {"type": "string"}), _query("signature", {"type": "string"})]


def _preflight(methods: str) -> dict[str, Any]:
    return {"summary": f"CORS preflight ({methods}): grants only for origins in CORS_ALLOW_ORIGINS",
            "security": [], "responses": {"204": {"description": "Preflight answered (no body)", **_headers(204)}}}


def _html(summary: str, params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A public console GET answering a file (not JSON) with an ETag; 304 on If-None-Match."""
    op = _op(summary, 200, None, *([404] if params else []), auth=False, params=params)
    op["responses"]["304"] = {"description": "Not modified (the If-None-Match ETag is current)", **_headers(304)}
    return op


def _console_paths() -> dict[str, Any]:
    return {
        "/": {"get": _html("The web console (HTML; strict Content-Security-Policy)")},
        "/console/{name}": {"get": _html("A console file (.js, .css, .svg), or config.json: this stage's "
                                         "console settings",
                                         params=[_path_param("name", r"^[a-z0-9][a-z0-9_-]{0,63}\.(js|css|svg|json)$")])},
    }


def _local_paths() -> dict[str, Any]:
    """The local stage's routes (the emulator's, the console's sign-in and operations): registered
    in the local stage only."""
    return {
        "/local/blobs": {
            "put": _op("Local stage only: target of a presigned upload URL", 200, "BlobWritten",
                       400, 403, 404, 413, auth=False, params=_SIGNED),
            "get": _op("Local stage only: target of a presigned download URL", 200, None,
                       400, 403, 404, auth=False, params=_SIGNED),
        },
        "/local/token": {
            "post": _op("A bearer token for a user name (the console's local sign-in)", 200, "LocalToken",
                        400, 404, 413, 415, auth=False, body="LocalTokenRequest"),
        },
        "/local/deliveries": {"get": _op("Local runtime deliveries, newest first", 200, "DeliveryList", 400, 404,
                                         params=[_query("status", {"enum": ["queued", "running", "succeeded",
                                                                            "failed"]}),
                                                 _query("limit", {"type": "integer", "minimum": 1,
                                                                  "maximum": 500})])},
        "/local/deliveries/{delivery_id}/retry": {
            "post": _op("Requeue a failed delivery", 200, "Delivery", 404, 409,
                        params=[_path_param("delivery_id")])},
        "/local/schedules": {"get": _op("Schedules with their last and next run", 200, "ScheduleList", 404)},
        "/local/schedules/{name}/fire": {
            "post": _op("Run a schedule now", 202, "Fired", 404, params=[_path_param("name")],
                        ok_description="Queued")},
        "/local/outbox": {"get": _op("The e-mails the local stage sent, newest first", 200, "Outbox", 400, 404,
                                     params=[_query("limit", {"type": "integer", "minimum": 1, "maximum": 500})])},
        "/local/metrics": {"get": _op("The local EMF metrics summed", 200, "MetricSums", 400, 404,
                                      params=[_query("since", {"type": "number", "exclusiveMinimum": 0})])},
    }


def _with_preflights(paths: dict[str, Any], local: bool) -> dict[str, Any]:
    from chalicelib.cors import LOCAL_PREFLIGHTS, PREFLIGHTS

    for path, methods in {**PREFLIGHTS, **(LOCAL_PREFLIGHTS if local else {})}.items():
        params = [_path_param(name) for name in re.findall(r"{(\w+)}", path)]
        paths[path]["options"] = {**_preflight(methods), **({"parameters": params} if params else {})}
    return paths


def _vendor_form(ops: dict[str, Any]) -> dict[str, Any]:
    """The vendor route also speaks HTML: the form page (strict CSP, no script) and its
    urlencoded post."""
    html = {"text/html": {"schema": {"type": "string"}}}
    for op in ops.values():
        op["responses"]["200"]["content"].update(html)
        for code in ("400", "403", "409", "410"):
            if code in op["responses"]:
                op["responses"][code]["content"].update(html)
    body = ops["post"]["requestBody"]["content"]
    body["application/x-www-form-urlencoded"] = {"schema": {"$ref": "#/components/schemas/VendorQuoteAnswer"}}
    return ops


def _document() -> dict[str, Any]:
    from chalicelib.settings import get_settings

    return _document_for(get_settings().is_local)


@functools.lru_cache(maxsize=2)
def _document_for(local: bool) -> dict[str, Any]:
    item_id = [_path_param("item_id")]
    return {
        "openapi": "3.1.0",
        "info": {"title": "ai-backend", "version": "",  # the app's version, set by document()
                 "description": "Ambient pages, image collections and async tasks on AWS Chalice. "
                                "Every user-data route needs `Authorization: Bearer <JWT>`; the user is the "
                                "token's `sub`. Errors are `{\"error\": {\"code\", \"message\", \"field\"?}}`, except "
                                "401, which API Gateway answers itself: `{\"message\": \"Unauthorized\"}`."},
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": SCHEMAS,
        },
        "paths": _with_preflights({
            **_console_paths(),
            **(_local_paths() if local else {}),
            "/openapi.json": {"get": _op("This document", 200, None, auth=False)},
            "/health": {"get": {**_op("Stage, version, database and providers", 200, "Health", auth=False),
                                "responses": {"200": {"description": "Healthy", **_headers(200), **_json("Health")},
                                              "503": {"description": "The database is unreachable",
                                                      "headers": TRACE_HEADER, **_json("Health")},
                                              "500": {"description": _ERRORS[500], **_headers(500),
                                                      **_json("Error")}}}},
            "/me": {"get": _op("The caller as the API sees them", 200, "Me")},
            "/items": {
                "post": _op("Create an item; PUT the image to the returned URL", 201, "ItemCreated",
                            400, 413, 415, 503, body="ItemCreate", ok_description="Created"),
                "get": _op("The caller's items, newest first", 200, "ItemList", 400, 503,
                           params=[*_PAGING, _query("category", {"type": "string"}),
                                   _query("status", {"type": "string", "pattern": "^[a-z_]{1,32}$"})]),
            },
            "/items/{item_id}": {
                "get": _op("One item with its latest analysis", 200, "Item", 404, 503, params=item_id),
                "delete": {**_op("Delete the item, its objects and analyses", 204, None, 404, 503, params=item_id),
                           },
            },
            "/items/{item_id}/analyze": {
                "post": _op("Analyse again (a new version)", 202, "Reanalysis", 400, 404, 409, 503,
                            params=[*item_id, _IDEMPOTENCY], ok_description="Accepted"),
            },
            "/items/{item_id}/analyses": {
                "get": _op("Every analysis version, newest first", 200, "AnalysisList", 404, 503, params=item_id),
            },
            "/search": {"post": _op("Keyword, vector or hybrid search over the caller's items", 200,
                                    "SearchResults", 400, 413, 415, 502, 503, body="SearchRequest")},
            "/tasks": {
                "post": _op("Create a task; the agent runs in the background", 202, "TaskAccepted",
                            400, 409, 413, 415, 503, body="TaskCreate", params=[_IDEMPOTENCY],
                            ok_description="Accepted"),
                "get": _op("The caller's tasks, newest first", 200, "TaskList", 400, 503, params=_PAGING),
                "options": _preflight("GET,POST"),
            },
            "/tasks/{task_id}": {
                "get": _op("One task with its event timeline", 200, "Task", 404, 503,
                           params=[_path_param("task_id")]),
                "options": {**_preflight("GET"), "parameters": [_path_param("task_id")]},
            },
            "/vendor/quotes/{token}": _vendor_form({
                "get": {**_op("The quote request a vendor was e-mailed (the signed token is the credential): "
                              "JSON, or an HTML form for `Accept: text/html`", 200, "VendorQuoteRequest",
                              403, 410, 503, auth=False, params=_TOKEN)},
                "post": {**_op("The vendor's price and note, once (JSON or the HTML form's urlencoded body)", 200,
                               "VendorQuoteRequest", 400, 403, 409, 410, 413, 415, 503, auth=False,
                               body="VendorQuoteAnswer", params=_TOKEN)},
            }),
            "/activity": {"post": _op("Record one event or a batch", 202, "ActivityAccepted", 400, 413, 415, 503,
                                      body="Activity", params=[_IDEMPOTENCY],
                                      ok_description="Accepted (a replayed Idempotency-Key: the first "
                                                     "request's count, `replayed: true`, nothing stored)")},
            "/pages": {"get": _op("The caller's fresh cached pages", 200, "PageList", 503)},
            "/pages/{page_type}": {
                "get": _op("A page from the cache, or generated now on a miss (only for page types seen in the "
                           "caller's activity or listed in PAGE_TYPES: else 404; at most PAGE_MISSES_PER_MINUTE "
                           "misses a minute: else 429)", 200, "Page", 400, 404, 429, 502, 503,
                           params=[_path_param("page_type", "^[a-z0-9][a-z0-9_-]{0,63}$")]),
            },
        }, local),
    }


def document() -> dict[str, Any]:
    """The OpenAPI document (a fresh copy: callers may not change the cached one); its
    ``info.version`` is the version ``/health`` reports (``APP_VERSION``)."""
    from chalicelib.settings import get_settings

    doc = copy.deepcopy(_document())
    doc["info"]["version"] = get_settings().version
    return doc


def response_schema(path: str, method: str, status: int) -> dict[str, Any] | None:
    """The documented JSON schema of one response (refs resolvable against the document), or
    None when the operation documents that status without a JSON body."""
    doc = _document()
    response = doc["paths"][path][method.lower()]["responses"].get(str(status))
    if response is None:
        raise KeyError(f"{method} {path} does not document status {status}")
    content = response.get("content", {}).get("application/json")
    return content["schema"] if content else None


def response_headers(path: str, method: str, status: int) -> dict[str, Any]:
    """The documented headers of one response (name -> header object), ``{}`` when none."""
    response = _document()["paths"][path][method.lower()]["responses"].get(str(status))
    if response is None:
        raise KeyError(f"{method} {path} does not document status {status}")
    return copy.deepcopy(response.get("headers", {}))
