"""The blob store failing, through the whole app.

In an AWS stage (moto S3, the session's PostgreSQL) S3 throttles (503 SlowDown), breaks (500
InternalError), is unreachable, resets the connection or times out, for every request of the
app's S3 client (:mod:`tests.faults.s3_faults`). Locally, the disk under ``.local/blobs`` fails.
While it lasts the API answers 503 with Retry-After, never 500, and routes that need no S3 call
keep working; the image processor's invocation fails (so Lambda retries it) after recording why
on the item; once S3 is back the API works without a restart and the retried invocation
completes the item. Nothing accepted is lost."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib import settings, wiring
from chalicelib.ports import BlobStoreUnavailable
from deploy import stack
from tests.collections import images
from tests.collections.conftest import BUCKET as LOCAL_BUCKET
from tests.collections.conftest import create_item, get_item, path_of
from tests.conftest import ROOT, TEST_JWT_SECRET, auth_headers
from tests.faults.s3_faults import FAULTS, S3Faults

STAGE = "dev"
BUCKET = stack.names(STAGE)["bucket"]


@pytest.fixture()
def aws_app(monkeypatch: pytest.MonkeyPatch, aws, pg_url: str, tmp_path: Path) -> Iterator[tuple[Any, S3Faults]]:  # noqa: ANN001
    """The app in an AWS stage with a fault switch on its S3 client."""
    from chalice.test import Client

    from app import app

    for name, value in {"STAGE": STAGE, "SSM_PREFIX": "", "DATABASE_URL": pg_url, "JWT_SECRET": TEST_JWT_SECRET,
                        "BUCKET_NAME": BUCKET, "EVENT_BUS_NAME": "default", "LOCAL_DATA_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    settings.reset()
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    faults = S3Faults(wiring.aws_client("s3"))
    with Client(app, stage_name=STAGE, project_dir=str(ROOT)) as client:
        yield client, faults
    settings.reset()


def browser_upload(client, user: str, data: bytes) -> tuple[str, str]:  # noqa: ANN001
    """POST /items, then the bytes straight to S3 (the browser's presigned PUT does not go
    through the app's S3 client). Returns (item id, key)."""
    created = create_item(client, user)
    key = f"{user}/{created['item_id']}.jpg"
    boto3.client("s3", region_name="us-east-1").put_object(Bucket=BUCKET, Key=key, Body=data,
                                                           ContentType="image/jpeg")
    return created["item_id"], key


def s3_notification(client, key: str) -> None:  # noqa: ANN001
    """S3's ObjectCreated notification to the image processor (Lambda retries it on an error)."""
    event = client.events.generate_s3_event(bucket=BUCKET, key=key, event_name="ObjectCreated:Put")
    client.lambda_.invoke("collections_image_processor", event)


def item_row(item_id: str) -> dict[str, Any]:
    from sqlalchemy import select

    from chalicelib.collections.tables import items

    with wiring.engine().connect() as conn:
        return dict(conn.execute(select(items).where(items.c.id == item_id)).mappings().one())


@pytest.mark.parametrize("fault", FAULTS)
def test_s3_outage(aws_app, user: str, fault: str) -> None:
    client, faults = aws_app
    headers = auth_headers(user)
    ready_id, ready_key = browser_upload(client, user, images.jpeg((800, 600), "red"))
    s3_notification(client, ready_key)
    assert get_item(client, user, ready_id).json_body["thumbnail"] == "present"

    faults.fault = fault
    response = get_item(client, user, ready_id)  # checks the thumbnail object: needs S3
    assert response.status_code == 503, response.body
    assert response.headers["Retry-After"].isdigit()
    assert response.json_body["error"] == {"code": "service_unavailable",
                                           "message": "the file store is unavailable; retry shortly"}
    listed = client.http.get("/items", headers=headers)  # presigned URLs need no S3 call
    assert listed.status_code == 200 and [i["item_id"] for i in listed.json_body["items"]] == [ready_id]

    new_id, new_key = browser_upload(client, user, images.jpeg((800, 600), "green"))  # accepted meanwhile
    with pytest.raises(BlobStoreUnavailable):
        s3_notification(client, new_key)
    waiting = item_row(new_id)
    assert waiting["status"] == "awaiting_upload" and waiting["thumbnail_path"] is None
    assert waiting["error"].startswith("thumbnail: S3 GetObject"), waiting["error"]  # the API adds "will be retried: "
    assert faults.failed_requests >= 3  # botocore retried before giving up

    faults.fault = None  # S3 is back: no restart, the retried invocation completes the item
    assert get_item(client, user, ready_id).status_code == 200
    s3_notification(client, new_key)
    done = item_row(new_id)
    assert done["status"] == "processing" and done["thumbnail_path"] and done["error"] is None
    assert get_item(client, user, new_id).json_body["thumbnail"] == "present"


def test_s3_outage_while_writing_the_thumbnail(aws_app, user: str) -> None:
    """The original is read, the thumbnail write is refused: the invocation fails and its retry
    completes the item."""
    client, faults = aws_app
    item_id, key = browser_upload(client, user, images.jpeg((800, 600), "blue"))
    s3 = wiring.aws_client("s3")

    def refuse_puts(request: Any, **_: Any) -> Any:
        if request.method == "PUT":
            from botocore.exceptions import EndpointConnectionError

            raise EndpointConnectionError(endpoint_url=request.url)
        return None

    s3.meta.events.register_first("before-send.s3", refuse_puts, unique_id="refuse-puts")
    with pytest.raises(BlobStoreUnavailable):
        s3_notification(client, key)
    assert item_row(item_id)["error"].startswith("thumbnail: S3 PutObject")
    s3.meta.events.unregister("before-send.s3", unique_id="refuse-puts")
    s3_notification(client, key)
    assert item_row(item_id)["error"] is None and get_item(client, user, item_id).json_body["thumbnail"] == "present"


def test_local_disk_failure_is_503_and_recovers(client, user: str, local_env: Path) -> None:  # noqa: ANN001
    """`make run`'s blob store: the bucket's folder unusable (a file where it should be) makes
    the upload answer 503; once the folder is back the same presigned URL works."""
    created = create_item(client, user)
    bucket_dir = local_env / "blobs" / LOCAL_BUCKET
    shutil.rmtree(bucket_dir, ignore_errors=True)
    bucket_dir.parent.mkdir(parents=True, exist_ok=True)
    bucket_dir.write_text("not a directory")
    data = images.jpeg((640, 480), "red")
    url, upload_headers = path_of(created["upload"]["url"]), created["upload"]["headers"]

    failed = client.http.put(url, headers=upload_headers, body=data)
    assert failed.status_code == 503, failed.body
    assert failed.headers["Retry-After"].isdigit() and json.loads(failed.body)["error"]["code"] == "service_unavailable"
    assert wiring.local_runtime().queue.counts().get("queued", 0) == 0  # no S3 event for a failed write

    bucket_dir.unlink()
    stored = client.http.put(url, headers=upload_headers, body=data)
    assert stored.status_code == 200, stored.body
    wiring.local_runtime().drain(timeout=30)
    assert get_item(client, user, created["item_id"]).json_body["status"] == "ready"
