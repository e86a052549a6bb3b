"""GET /health, authentication, and the import-time budget of app.py."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import jwt

from tests.conftest import ROOT, TEST_JWT_SECRET, auth_headers, make_token


def test_health_reports_stage_database_and_providers(client) -> None:  # noqa: ANN001
    response = client.http.get("/health")
    assert response.status_code == 200
    body = response.json_body
    assert body["stage"] == "local"
    assert body["version"]
    assert body["database"]["reachable"] is True
    assert body["database"]["dialect"] == "postgresql"
    assert set(body["providers"]) >= {"claude", "voyage", "agentcore"}
    assert set(body["providers"].values()) <= {"real", "offline"}
    assert body["providers"]["claude"] == "offline"


def test_health_and_openapi_report_one_version(client, monkeypatch) -> None:  # noqa: ANN001
    from chalicelib import settings

    def versions() -> tuple[str, str]:
        return (client.http.get("/health").json_body["version"],
                client.http.get("/openapi.json").json_body["info"]["version"])

    assert versions() == (settings.VERSION, settings.VERSION)
    monkeypatch.setenv("APP_VERSION", "2.3.4-rc1")  # a stage that sets its own
    settings.get_settings.cache_clear()
    try:
        assert versions() == ("2.3.4-rc1", "2.3.4-rc1")
    finally:
        monkeypatch.delenv("APP_VERSION")
        settings.get_settings.cache_clear()


def test_valid_token_identifies_the_caller(client, user: str) -> None:  # noqa: ANN001
    response = client.http.get("/me", headers=auth_headers(user))
    assert response.status_code == 200
    assert response.json_body == {"user_id": user}


def _unauthorized(response) -> None:  # noqa: ANN001
    assert response.status_code == 401, response.body
    assert json.loads(response.body) == {"message": "Unauthorized"}


def test_missing_token_is_401(client) -> None:  # noqa: ANN001
    _unauthorized(client.http.get("/me"))


def test_malformed_token_is_401(client) -> None:  # noqa: ANN001
    _unauthorized(client.http.get("/me", headers={"Authorization": "Bearer not-a-jwt"}))
    _unauthorized(client.http.get("/me", headers={"Authorization": "Basic abc"}))
    _unauthorized(client.http.get("/me", headers={"Authorization": "Bearer"}))


def test_expired_token_is_401(client) -> None:  # noqa: ANN001
    _unauthorized(client.http.get("/me", headers={"Authorization": f"Bearer {make_token('a', ttl=-120)}"}))


def test_wrong_signature_and_alg_none_are_401(client) -> None:  # noqa: ANN001
    now = int(time.time())
    forged = jwt.encode({"sub": "a", "exp": now + 60}, "another-secret-" * 3, algorithm="HS256")
    _unauthorized(client.http.get("/me", headers={"Authorization": f"Bearer {forged}"}))
    unsigned = jwt.encode({"sub": "a", "exp": now + 60}, None, algorithm="none")
    _unauthorized(client.http.get("/me", headers={"Authorization": f"Bearer {unsigned}"}))


def test_token_without_sub_is_401(client) -> None:  # noqa: ANN001
    token = jwt.encode({"exp": int(time.time()) + 60}, TEST_JWT_SECRET, algorithm="HS256")
    _unauthorized(client.http.get("/me", headers={"Authorization": f"Bearer {token}"}))


def test_rs256_tokens_verify_against_a_jwks(monkeypatch, tmp_path) -> None:  # noqa: ANN001
    """Cognito-style RS256 tokens, checked against a JWKS served on loopback."""
    import http.server
    import threading

    from cryptography.hazmat.primitives.asymmetric import rsa

    from chalicelib import auth, settings

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("JWT_ALGORITHM", "RS256")
        monkeypatch.setenv("JWT_JWKS_URL", f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json")
        monkeypatch.setenv("JWT_ISSUER", "https://issuer.example")
        settings.reset()
        now = int(time.time())
        claims = {"sub": "cognito-user", "exp": now + 60, "iss": "https://issuer.example"}
        good = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
        assert auth.verify_token(f"Bearer {good}")["sub"] == "cognito-user"
        wrong_issuer = jwt.encode({**claims, "iss": "https://evil"}, key, algorithm="RS256", headers={"kid": "k1"})
        try:
            auth.verify_token(f"Bearer {wrong_issuer}")
            raise AssertionError("a token from another issuer must be refused")
        except auth.Unauthorized as exc:
            assert "issuer" in exc.reason.lower()
    finally:
        server.shutdown()
        settings.reset()


def test_make_token_prints_a_token_the_server_accepts(client, local_env) -> None:  # noqa: ANN001
    import os

    env = {**os.environ, "STAGE": "local", "LOCAL_DATA_DIR": str(local_env), "JWT_SECRET": TEST_JWT_SECRET}
    out = subprocess.run(
        [sys.executable, "-m", "chalicelib.auth", "alice"], cwd=ROOT, env=env,
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    response = client.http.get("/me", headers={"Authorization": f"Bearer {out}"})
    assert response.json_body == {"user_id": "alice"}


def test_importing_app_does_not_import_sdks_or_pillow() -> None:
    code = (
        "import sys, app\n"
        "heavy = [m for m in ('anthropic', 'voyageai', 'PIL', 'pgserver', 'moto') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"app.py imported {out.stdout.strip()} at import time"


def test_bad_json_bodies_get_json_errors(client, user: str, monkeypatch) -> None:  # noqa: ANN001
    """Malformed JSON 400 naming the problem, wrong content type 415, oversized body 413."""
    from chalicelib import settings

    headers = auth_headers(user)
    malformed = client.http.post("/items", headers=headers, body=b'{"filename": "a.jpg",')
    assert malformed.status_code == 400
    assert "malformed JSON" in malformed.json_body["error"]["message"]

    not_object = client.http.post("/items", headers=headers, body=b"[1, 2]")
    assert not_object.status_code == 400 and "JSON object" in not_object.json_body["error"]["message"]

    wrong_type = client.http.post("/items", headers={**headers, "Content-Type": "text/plain"}, body=b"hi")
    assert wrong_type.status_code == 415
    assert wrong_type.json_body["error"]["code"] == "unsupported_media_type"

    monkeypatch.setenv("MAX_BODY_BYTES", "64")
    settings.get_settings.cache_clear()
    big = client.http.post("/items", headers=headers, body=json.dumps({"filename": "a" * 100 + ".jpg"}).encode())
    assert big.status_code == 413 and big.json_body["error"]["code"] == "payload_too_large"


def test_text_no_database_can_store_is_a_400_not_a_500(client, user) -> None:  # noqa: ANN001
    """Found by the fuzzer: NUL characters and unpaired surrogates reached PostgreSQL (500)."""
    from tests.conftest import auth_headers

    headers = auth_headers(user)
    for body in (b'{"query": "a\\u0000"}', b'{"query": "\\ud800"}', b'{"query": "x", "\\u0000": 1}'):
        response = client.http.post("/search", headers=headers, body=body)
        assert response.status_code == 400, body
        assert response.json_body["error"]["code"] == "bad_request"
    assert client.http.get("/items?category=%00", headers=headers).status_code == 400
    assert client.http.post("/tasks", headers=headers, body=b'{"description": "a\\u0000b"}').status_code == 400
    assert client.http.post("/activity", headers=headers,
                            body=b'{"page": "x", "action": "view", "metadata": {"k": "\\udc00"}}').status_code == 400
