"""The thumbnail lifecycle against S3 (moto), through the app's AWS stage: the image processor
writes the thumbnail with the tag deploy/infra.yaml's lifecycle rule filters on (and the
original without it), the rule rendered for each stage selects exactly the thumbnails, and once
S3 has expired one ``GET /items/{id}`` rebuilds it (or, with the original gone too, reports it)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from chalicelib import settings
from chalicelib.collections.thumbnail_store import THUMBNAIL_TAGS
from deploy import stack
from tests.collections import images
from tests.conftest import ROOT, TEST_JWT_SECRET, auth_headers
from tests.deploy.test_infra import _CfnLoader

STAGE = "dev"
BUCKET = stack.names(STAGE)["bucket"]


@pytest.fixture()
def s3_client(monkeypatch: pytest.MonkeyPatch, aws, pg_url: str, tmp_path: Path) -> Iterator[Any]:  # noqa: ANN001
    """The app in an AWS stage: S3 and EventBridge from moto, the session's PostgreSQL."""
    from chalice.test import Client

    from app import app

    for name, value in {"STAGE": STAGE, "SSM_PREFIX": "", "DATABASE_URL": pg_url, "JWT_SECRET": TEST_JWT_SECRET,
                        "BUCKET_NAME": BUCKET, "EVENT_BUS_NAME": "default", "LOCAL_DATA_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    settings.reset()
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    with Client(app, stage_name=STAGE, project_dir=str(ROOT)) as client:
        yield client
    settings.reset()


def _upload_and_process(client, user: str, data: bytes) -> tuple[str, str]:  # noqa: ANN001
    """POST /items, the browser's PUT (straight to moto), then S3's notification to the
    processor. Returns (item id, original key)."""
    created = client.http.post("/items", headers=auth_headers(user),
                               body=json.dumps({"filename": "photo.jpg", "content_type": "image/jpeg"}))
    assert created.status_code == 201, created.body
    body = created.json_body
    assert body["upload"]["url"].startswith(f"https://{BUCKET}.s3.amazonaws.com/")
    key = f"{user}/{body['item_id']}.jpg"
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket=BUCKET, Key=key, Body=data, ContentType="image/jpeg")
    event = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                          "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                          "s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "size": len(data)}}}]}
    client.lambda_.invoke("collections_image_processor", event)
    return body["item_id"], key


def _tags(key: str) -> dict[str, str]:
    tag_set = boto3.client("s3", region_name="us-east-1").get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]
    return {t["Key"]: t["Value"] for t in tag_set}


# --- the lifecycle rule as deploy/infra.yaml renders it for a stage -------------------------------


def _resolve(value: Any, params: Mapping[str, str], conditions: Mapping[str, bool]) -> Any:
    """CloudFormation's Ref / If / Equals / Not over a parsed template fragment."""
    if isinstance(value, list):
        return [_resolve(v, params, conditions) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return params[value["Ref"]]
    if set(value) == {"If"}:
        name, then, otherwise = value["If"]
        return _resolve(then if conditions[name] else otherwise, params, conditions)
    if set(value) == {"Equals"}:
        left, right = _resolve(value["Equals"], params, conditions)
        return str(left) == str(right)
    if set(value) == {"Not"}:
        return not _resolve(value["Not"][0], params, conditions)
    return {k: _resolve(v, params, conditions) for k, v in value.items()}


def _lifecycle_rules(stage: str) -> list[dict[str, Any]]:
    """The bucket's LifecycleConfiguration for ``stage``, in the S3 API's shape."""
    template = yaml.load((ROOT / "deploy" / "infra.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    params = stack.infra_parameters(stage, True)
    conditions: dict[str, bool] = {}
    for name, expression in template["Conditions"].items():
        conditions[name] = _resolve(expression, params, conditions)
    bucket = _resolve(template["Resources"]["Bucket"]["Properties"], params, conditions)
    rules = []
    for rule in bucket["LifecycleConfiguration"]["Rules"]:
        api: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"]}
        tags = [{"Key": t["Key"], "Value": t["Value"]} for t in rule.get("TagFilters", [])]
        api["Filter"] = {"Tag": tags[0]} if len(tags) == 1 else {"And": {"Prefix": "", "Tags": tags}} if tags else {
            "Prefix": rule.get("Prefix", "")}
        if "ExpirationInDays" in rule:
            api["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
        if "AbortIncompleteMultipartUpload" in rule:
            api["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
        if "NoncurrentVersionExpiration" in rule:
            api["NoncurrentVersionExpiration"] = rule["NoncurrentVersionExpiration"]
        rules.append(api)
    return rules


def _expires_after(rules: list[dict[str, Any]], tags: Mapping[str, str]) -> int | None:
    """Days after which an enabled rule expires the current version of an object with ``tags``."""
    days = []
    for rule in rules:
        if rule["Status"] != "Enabled" or "Expiration" not in rule:
            continue
        wanted = [rule["Filter"]["Tag"]] if "Tag" in rule["Filter"] else rule["Filter"].get("And", {}).get("Tags", [])
        if all(tags.get(t["Key"]) == t["Value"] for t in wanted) and not rule["Filter"].get("Prefix"):
            days.append(rule["Expiration"]["Days"])
    return min(days) if days else None


def test_the_stage_s_lifecycle_rule_expires_exactly_the_thumbnails_the_processor_wrote(s3_client, user) -> None:  # noqa: ANN001
    item_id, original = _upload_and_process(s3_client, user, images.jpeg((1600, 1200), "blue"))
    item = s3_client.http.get(f"/items/{item_id}", headers=auth_headers(user)).json_body
    assert item["status"] != "failed" and item["thumbnail"] == "present", item
    thumbnail = f"{user}/thumbnails/{item_id}.jpg"
    assert _tags(thumbnail) == THUMBNAIL_TAGS and _tags(original) == {}

    s3 = boto3.client("s3", region_name="us-east-1")
    expected = {"dev": None, "test": 90, "prod": 90}
    for stage in stack.stages():
        rules = _lifecycle_rules(stage)
        # S3 (moto) accepts the rules as rendered, and answers them back unchanged.
        s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": rules})
        stored = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
        assert {r["ID"]: r["Status"] for r in stored} == {r["ID"]: r["Status"] for r in rules}
        days = stack.stage_options(stage).get("thumbnail_expiry_days") or None
        assert _expires_after(stored, _tags(thumbnail)) == days == expected.get(stage, days), stage
        assert _expires_after(stored, _tags(original)) is None, stage  # originals are never expired


def test_an_expired_thumbnail_in_s3_is_rebuilt_tagged_or_reported(s3_client, user) -> None:  # noqa: ANN001
    item_id, original = _upload_and_process(s3_client, user, images.jpeg((1200, 900), "red"))
    thumbnail = f"{user}/thumbnails/{item_id}.jpg"
    s3 = boto3.client("s3", region_name="us-east-1")
    before = s3.get_object(Bucket=BUCKET, Key=thumbnail)["Body"].read()
    s3.delete_object(Bucket=BUCKET, Key=thumbnail)  # what the lifecycle rule does

    response = s3_client.http.get(f"/items/{item_id}", headers=auth_headers(user))
    assert response.status_code == 200, response.body
    assert response.json_body["thumbnail"] == "rebuilt"
    assert f"/{thumbnail}?" in response.json_body["thumbnail_url"]
    assert s3.get_object(Bucket=BUCKET, Key=thumbnail)["Body"].read() == before
    assert _tags(thumbnail) == THUMBNAIL_TAGS  # the rebuilt one expires again in its turn

    s3.delete_object(Bucket=BUCKET, Key=thumbnail)
    s3.delete_object(Bucket=BUCKET, Key=original)
    response = s3_client.http.get(f"/items/{item_id}", headers=auth_headers(user))
    assert response.status_code == 200, response.body
    assert response.json_body["thumbnail"] == "missing" and response.json_body["thumbnail_url"] is None
    listing = s3_client.http.get("/items", headers=auth_headers(user))
    assert listing.status_code == 200 and [i["item_id"] for i in listing.json_body["items"]] == [item_id]
