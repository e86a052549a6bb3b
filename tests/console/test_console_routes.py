"""The console's routes without a browser: files, content types, caching, the CSP, the size
budget, the local sign-in (and its absence in AWS stages), and CORS preflights."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys

import pytest

from chalicelib import console
from chalicelib.settings import Settings
from tests.conftest import ROOT, auth_headers

STRICT = ("default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'")


def test_index_is_served_with_a_strict_csp(client) -> None:  # noqa: ANN001
    response = client.http.get("/")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = response.headers["Content-Security-Policy"]
    for directive in STRICT:
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert re.search(r"img-src 'self' http://127\.0\.0\.1:\d+", csp)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    html = response.body.decode()
    assert '<script type="module" src="/console/main.js"></script>' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "no inline script"
    assert not re.search(r"\sstyle=|\son[a-z]+=", html), "no inline style or handler"


def test_files_have_their_content_types_and_revalidate(client) -> None:  # noqa: ANN001
    for name, kind in (("main.js", "text/javascript; charset=utf-8"), ("console.css", "text/css; charset=utf-8"),
                       ("favicon.svg", "image/svg+xml")):
        response = client.http.get(f"/console/{name}")
        assert response.status_code == 200, name
        assert response.headers["Content-Type"] == kind
        assert response.headers["Cache-Control"] == "no-cache"
        again = client.http.get(f"/console/{name}", headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304 and again.body == b""
    for bad in ("nope.js", "..%2Fapp.py", "index.html", "main.py", "%2Fetc%2Fpasswd"):
        assert client.http.get(f"/console/{bad}").status_code == 404, bad


def test_config_says_what_the_console_needs_and_nothing_secret(client) -> None:  # noqa: ANN001
    from jsonschema import Draft202012Validator

    from chalicelib import openapi

    config = client.http.get("/console/config.json").json_body
    assert config == {"stage": "local", "local": True, "version": config["version"], "cognito": None, "aws_links": None}
    schema = openapi.document()["components"]["schemas"]["ConsoleConfig"]
    aws = console.config(Settings(stage="prod", console_cognito_domain="d.example", console_cognito_client_id="c"))
    for body in (config, aws):
        assert not list(Draft202012Validator(schema).iter_errors(body))


def test_the_prefix_of_an_api_gateway_stage_is_kept() -> None:
    assert console.path_prefix("/api/") == "/api/"
    assert console.path_prefix("/api") == "/api/"
    assert console.path_prefix("/") == "/"
    assert console.path_prefix('/"><script>') == "/"
    assert console.path_prefix("/a/../b") == "/"


def test_aws_csp_allows_the_presigned_s3_origins_and_cognito() -> None:
    settings = Settings(stage="prod", bucket_name="imgs-prod", aws_region="eu-west-1",
                        console_cognito_domain="auth.example.com", console_cognito_client_id="abc")
    csp = console.content_security_policy(settings)
    s3 = "https://imgs-prod.s3.amazonaws.com https://imgs-prod.s3.eu-west-1.amazonaws.com"
    assert f"img-src 'self' {s3};" in csp
    assert f"connect-src 'self' {s3} https://auth.example.com" in csp
    config = console.config(settings)
    assert config["cognito"] == {"domain": "auth.example.com", "client_id": "abc"}
    assert config["aws_links"]["dashboard"].endswith("#dashboards/dashboard/ai-backend-prod")
    assert "region=eu-west-1" in config["aws_links"]["alarms"]


def test_javascript_and_css_stay_under_100_kb_gzipped() -> None:
    files = sorted(p for p in console.STATIC_DIR.iterdir() if p.suffix in (".js", ".css"))
    total = sum(len(gzip.compress(p.read_bytes(), 9)) for p in files)
    print(f"console JS+CSS: {len(files)} files, {total} bytes gzipped")
    assert files and total < 100 * 1024


def test_no_markup_is_ever_parsed_from_strings() -> None:
    """The rule the XSS browser tests check end to end, held for every line of the console."""
    forbidden = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|"
                           r"setAttribute\(\s*['\"](?:href|src|on)")
    for path in console.STATIC_DIR.glob("*.js"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert not forbidden.search(line), f"{path.name}:{number}: {line.strip()}"


def test_local_sign_in_issues_a_token_the_api_accepts(client) -> None:  # noqa: ANN001
    response = client.http.post("/local/token", headers={"Content-Type": "application/json"},
                                body=json.dumps({"user": "alice"}))
    assert response.status_code == 200
    token = response.json_body["token"]
    me = client.http.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json_body == {"user_id": "alice"}
    for bad in ({"user": ""}, {"user": "a b"}, {"user": "x" * 65}, {}, {"user": 3}):
        assert client.http.post("/local/token", headers={"Content-Type": "application/json"},
                                body=json.dumps(bad)).status_code == 400


_AWS_PROBE = """
import json
from chalice.test import Client
from app import app
with Client(app, stage_name="dev") as client:
    token = client.http.post("/local/token", headers={"Content-Type": "application/json"}, body=b'{"user": "alice"}')
    index = client.http.get("/")
    print(json.dumps({"token": [token.status_code, token.json_body], "index": index.status_code,
                      "routes": sorted(app.routes)}))
"""


def test_no_local_route_exists_in_an_aws_stage() -> None:
    """No token is issued there: the sign-in route answers 404 and mints nothing, no operations
    route exists; the console itself is served."""
    env = {**os.environ, "STAGE": "dev", "JWT_SECRET": "s" * 48, "SSM_PREFIX": ""}
    env.pop("LOCAL_DATA_DIR", None)
    out = subprocess.run([sys.executable, "-c", _AWS_PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout.strip().splitlines()[-1]
    probe = json.loads(out)
    assert probe["token"][0] == 404 and "eyJ" not in json.dumps(probe["token"][1])
    assert probe["token"][1]["error"]["code"] == "not_found"
    assert probe["index"] == 200
    assert [r for r in probe["routes"] if r.startswith("/local")] == ["/local/token"]


@pytest.mark.parametrize(("path", "methods"), [("/items", "GET,POST"), ("/items/x", "GET,DELETE"),
                                                ("/search", "POST"), ("/activity", "POST"), ("/pages/home", "GET"),
                                                ("/local/schedules/x/fire", "POST"), ("/me", "GET")])
def test_preflights_grant_configured_origins_only(client, monkeypatch, path: str, methods: str) -> None:  # noqa: ANN001
    from chalicelib import settings

    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "https://console.example")
    settings.reset()
    granted = client.http.options(path, headers={"Origin": "https://console.example"})
    assert granted.status_code == 204
    assert granted.headers["Access-Control-Allow-Origin"] == "https://console.example"
    assert granted.headers["Access-Control-Allow-Methods"] == f"{methods},OPTIONS"
    assert "Idempotency-Key" in granted.headers["Access-Control-Allow-Headers"]
    refused = client.http.options(path, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_status_filter_and_original_url(client, runtime, user) -> None:  # noqa: ANN001
    from tests.collections import images
    from tests.collections.conftest import upload

    item_id = upload(client, user, images.jpeg((300, 200), "red"))
    headers = auth_headers(user)
    assert client.http.get(f"/items/{item_id}", headers=headers).json_body["original_url"] is None  # not processed
    runtime.drain()
    body = client.http.get(f"/items/{item_id}", headers=headers).json_body
    assert body["original_url"] and "/local/blobs?" in body["original_url"]
    listed = client.http.get("/items?status=ready", headers=headers).json_body["items"]
    assert body["status"] == "ready" and [i["item_id"] for i in listed] == [item_id]
    assert client.http.get("/items?status=failed", headers=headers).json_body["items"] == []
    assert client.http.get("/items?status=Bad%20One", headers=headers).status_code == 400
