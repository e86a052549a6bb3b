"""The web console: static ES modules and one CSS file served by the app itself (no build step,
nothing from a CDN), with a strict Content-Security-Policy and revalidated caching.

``GET /`` answers ``index.html`` with its asset links under the API's path prefix (``/api/`` in
an API Gateway stage); the scripts find the API from their own URL (``import.meta.url``), so the
console works under any prefix with ``base-uri 'none'``.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chalice import Response

from chalicelib import errors
from chalicelib.settings import Settings, get_settings

STATIC_DIR = Path(__file__).resolve().parent / "static"
APP_NAME = "ai-backend"
_ASSET = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\.(js|css|svg)$")
_PREFIX = re.compile(r"^/[A-Za-z0-9_./-]*$")
CONTENT_TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
                 "svg": "image/svg+xml", "html": "text/html; charset=utf-8"}
PREFIX_PLACEHOLDER = "__CONSOLE_BASE__"


def _load(name: str) -> tuple[str, str] | None:
    """(text, etag) of a static file, or None: read once per container in AWS, on every request
    in the local stage (an edited module shows on the next reload, no restart)."""
    return _read(name) if get_settings().is_local else _read_once(name)


def _read(name: str) -> tuple[str, str] | None:
    path = STATIC_DIR / name
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    return text, '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


_read_once = functools.lru_cache(maxsize=64)(_read)


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def blob_origins(settings: Settings) -> list[str]:
    """Where presigned thumbnail/original/upload URLs point: S3's virtual-hosted endpoints
    (global and regional) in AWS stages, the app's own public URL in the local stage."""
    if settings.is_local:
        origin = _origin(settings.public_base_url)
        return [origin] if origin else []
    bucket, region = settings.bucket_name, settings.aws_region
    return [f"https://{bucket}.s3.amazonaws.com", f"https://{bucket}.s3.{region}.amazonaws.com"]


def content_security_policy(settings: Settings | None = None) -> str:
    """No inline script or style, nothing framed, images and XHR only from us and the blob store
    (plus the Cognito domain for the PKCE token exchange when configured)."""
    settings = settings or get_settings()
    blobs = " ".join(blob_origins(settings))
    cognito = f" https://{settings.console_cognito_domain}" if settings.console_cognito_domain else ""
    return ("default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; "
            f"frame-ancestors 'none'; form-action 'self'; img-src 'self' {blobs}; "
            f"connect-src 'self' {blobs}{cognito}").replace("  ", " ").strip()


def security_headers(content_type: str) -> dict[str, str]:
    return {"Content-Type": content_type, "Content-Security-Policy": content_security_policy(),
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY", "Cache-Control": "no-cache"}


def _conditional(text: str, etag: str, content_type: str, if_none_match: str | None) -> Response:
    headers = {**security_headers(content_type), "ETag": etag}
    if if_none_match and etag in {tag.strip() for tag in if_none_match.split(",")}:
        return Response(body="", status_code=304, headers=headers)
    return Response(body=text, status_code=200, headers=headers)


def path_prefix(request_path: str | None) -> str:
    """The prefix the console lives under: ``/`` locally, ``/api/`` behind an API Gateway stage."""
    path = request_path or "/"
    if not _PREFIX.match(path) or ".." in path:
        return "/"
    return path if path.endswith("/") else path + "/"


def index(request: Any) -> Response:
    """``GET /``: the console's page, its asset links under the request's path prefix."""
    loaded = _load("index.html")
    if loaded is None:  # pragma: no cover - the file ships with the package
        raise errors.NotFound("the console is not installed")
    path = ((request.context or {}).get("path")) if request is not None else None
    text = loaded[0].replace(PREFIX_PLACEHOLDER, path_prefix(path))
    etag = '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'
    return _conditional(text, etag, CONTENT_TYPES["html"], request.headers.get("if-none-match"))


def asset(name: str, if_none_match: str | None = None) -> Response:
    """``GET /console/{name}``: one static file with its content type, or 404."""
    if name == "config.json":
        return Response(body=config(), status_code=200,
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})
    loaded = _load(name) if _ASSET.match(name or "") else None
    if loaded is None:
        raise errors.NotFound(f"no console file {name!r}")
    return _conditional(loaded[0], loaded[1], CONTENT_TYPES[name.rsplit(".", 1)[1]], if_none_match)


def config(settings: Settings | None = None) -> dict[str, Any]:
    """What the console needs to know about this stage (public: no secret in it)."""
    settings = settings or get_settings()
    region, name = settings.aws_region, f"{APP_NAME}-{settings.stage}"
    cognito = None
    if settings.console_cognito_domain and settings.console_cognito_client_id:
        cognito = {"domain": settings.console_cognito_domain, "client_id": settings.console_cognito_client_id}
    links = None
    if not settings.is_local:
        home = f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        links = {"dashboard": f"{home}#dashboards/dashboard/{name}", "alarms": f"{home}#alarmsV2:?search={name}"}
    return {"stage": settings.stage, "local": settings.is_local, "version": settings.version,
            "cognito": cognito, "aws_links": links}
