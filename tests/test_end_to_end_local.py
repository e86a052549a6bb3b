"""`make run` end to end: chalice local + the local runtime in their own processes, reached over
real HTTP on loopback. One handler of each kind: a route, an S3 event (a key with spaces, '+'
and non-ASCII letters), EventBridge events, an async Lambda invocation and a schedule."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, TEST_JWT_SECRET
from tests.live_server import local_server, wait_for

ODD_KEY_NAME = "Summer trip + Ünïcode day.JPG"


def call(method: str, url: str, token: str | None = None, body: bytes | None = None,
         content_type: str = "application/json") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@pytest.fixture()
def server(tmp_path: Path, pg_url: str):  # noqa: ANN201
    with local_server(tmp_path, pg_url, TEST_JWT_SECRET) as running:
        yield running


def jpeg() -> bytes:
    from PIL import Image

    image = Image.new("RGB", (1200, 900), (30, 120, 200))
    for x in range(0, 1200, 40):
        image.paste((240, 200, 40), (x, 0, x + 20, 900))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def test_every_kind_of_handler_through_make_run(server) -> None:  # noqa: ANN001
    base, env = server
    token = subprocess.run([sys.executable, "-m", "chalicelib.auth", "alice"], cwd=ROOT, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()

    # Route
    status, health = call("GET", f"{base}/health")
    assert status == 200 and health["stage"] == "local" and health["database"]["reachable"]
    assert call("GET", f"{base}/me", token)[1] == {"user_id": "alice"}
    assert call("GET", f"{base}/me")[0] == 401

    # S3 event -> EventBridge (ImageProcessed) -> EventBridge (AnalysisComplete): an upload under an
    # odd key, straight to a signed local URL as a client would with a presigned S3 URL.
    from localdev.blobs import LocalBlobStore

    store = LocalBlobStore(Path(env["LOCAL_DATA_DIR"]) / "blobs", secret=TEST_JWT_SECRET, public_base_url=base)
    key = f"alice/{ODD_KEY_NAME}"
    signed = store.presigned_put("collections-images-local", key, "image/jpeg")
    assert call("PUT", signed["url"], body=jpeg(), content_type="image/jpeg")[0] == 200

    def ready_item() -> dict | None:
        items = call("GET", f"{base}/items", token)[1].get("items", [])
        return next((i for i in items if i.get("status") == "ready"), None)

    item = wait_for(ready_item)
    assert item["filename"] == ODD_KEY_NAME
    assert store.exists("collections-images-local", f"alice/thumbnails/{ODD_KEY_NAME}")
    status, found = call("POST", f"{base}/search", token, json.dumps({"query": "summer", "mode": "keyword"}).encode())
    assert status == 200

    # Async Lambda invocation: POST /tasks answers 202, the worker runs in the runtime process.
    status, created = call("POST", f"{base}/tasks", token, json.dumps({"description": "Find a plumber"}).encode())
    assert status == 202
    task = wait_for(lambda: (t := call("GET", f"{base}/tasks/{created['id']}", token)[1])["status"] == "completed" and t)
    assert [e["message"] for e in task["events"]][-1] == "Agent completed task successfully"

    # Schedule, fired now through the CLI (`make fire JOB=...`): it waits for the runtime of the
    # running server and prints the handler's result.
    fired = subprocess.run([sys.executable, "-m", "localdev.cli", "fire", "task_sweeper"], cwd=ROOT,
                           env=env, check=True, capture_output=True, text=True, timeout=120)
    assert isinstance(json.loads(fired.stdout), dict) and "task_sweeper succeeded in" in fired.stderr
    out = subprocess.run([sys.executable, "-m", "localdev.cli", "deliveries", "--limit", "1"], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True).stdout
    assert "task_sweeper" in out.splitlines()[1] and "succeeded" in out.splitlines()[1]  # newest first

    # What `make run` printed: one JSON object per line (chalice's "Serving on" banner aside), an
    # invocation line for every kind of handler, and no upload signature or token anywhere.
    log_text = (Path(env["LOCAL_DATA_DIR"]) / "serve.log").read_text()
    records = [json.loads(line) for line in log_text.splitlines() if not line.startswith("Serving on ")]
    kinds = {r["kind"] for r in records if r.get("msg") == "invocation"}
    assert {"http", "authorizer", "s3", "event", "invoke", "schedule"} <= kinds
    access = [r for r in records if r.get("logger") == "local.http"]
    assert any(r["path"] == "/local/blobs" and r["method"] == "PUT" and r["status"] == 200 for r in access)
    assert signed["url"].split("signature=", 1)[1] not in log_text and token not in log_text
    # ... kept in .local/app.log for `make logs`; no pgserver or Alembic start-up chatter.
    kept = (Path(env["LOCAL_DATA_DIR"]) / "app.log").read_text()
    assert '"msg":"ready in ' in kept and '"path":"/me"' in kept
    assert not any(r.get("logger", "").startswith(("pgserver", "alembic")) for r in records)


def test_presigned_urls_work_for_any_http_client_and_refuse_like_s3(server) -> None:  # noqa: ANN001
    base, env = server
    token = subprocess.run([sys.executable, "-m", "chalicelib.auth", "alice"], cwd=ROOT, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    status, created = call("POST", f"{base}/items", token,
                           json.dumps({"filename": "cat.jpg", "content_type": "image/jpeg"}).encode())
    assert status == 201 and created["status"] == "awaiting_upload"
    upload = created["upload"]

    # A Content-Type other than the signed one: 403, nothing stored, the item still awaits its bytes.
    status, refused = call("PUT", upload["url"], body=jpeg(), content_type="image/png")
    assert status == 403 and refused["error"]["code"] == "signature_does_not_match", refused
    assert call("GET", f"{base}/items/{created['item_id']}", token)[1]["status"] == "awaiting_upload"

    assert call("PUT", upload["url"], body=jpeg(), content_type=upload["headers"]["Content-Type"])[0] == 200
    item = wait_for(lambda: (i := call("GET", f"{base}/items/{created['item_id']}", token)[1])["status"] == "ready"
                    and i)

    # The presigned GET with urllib's defaults: no Accept header at all.
    request = urllib.request.Request(item["thumbnail_url"])
    assert not request.has_header("Accept")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        assert response.status == 200 and response.headers["Content-Type"] == "image/jpeg"
        assert response.read(3) == b"\xff\xd8\xff"

