"""Raw Lambda events built exactly as AWS sends them (S3 notifications, EventBridge, schedules)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

LOCAL_ACCOUNT = "123456789012"
LOCAL_REGION = "us-east-1"


def _utc(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def s3_key_encode(key: str) -> str:
    """Encode a key as S3 does in event notifications (form encoding: ' ' -> '+', '+' -> '%2B').

    Chalice's ``S3Event`` applies ``unquote_plus`` once, which gives back the original key."""
    return quote_plus(key, safe="/")


def s3_object_created_event(
    bucket: str,
    key: str,
    size: int,
    etag: str,
    event_name: str = "ObjectCreated:Put",
    *,
    region: str = LOCAL_REGION,
    time: datetime | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """An S3 notification event (one record) for an object created in ``bucket``."""
    at = _utc(time)
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
                "eventName": event_name,
                "userIdentity": {"principalId": "AWS:LOCAL"},
                "requestParameters": {"sourceIPAddress": source_ip},
                "responseElements": {
                    "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                    "x-amz-id-2": uuid.uuid4().hex,
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "local-notification",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "LOCAL"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": s3_key_encode(key),
                        "size": size,
                        "eTag": etag.strip('"'),
                        "sequencer": f"{int(at.timestamp() * 1_000_000):016X}",
                    },
                },
            }
        ]
    }


def eventbridge_event(
    source: str,
    detail_type: str,
    detail: Mapping[str, Any] | str,
    bus: str = "default",
    id: str | None = None,
    time: datetime | None = None,
    *,
    resources: list[str] | None = None,
    account: str = LOCAL_ACCOUNT,
    region: str = LOCAL_REGION,
) -> dict[str, Any]:
    """An EventBridge event as a rule target receives it. ``bus`` decides routing only: AWS does
    not put the bus name in the event. ``detail`` may be a JSON string (as in PutEvents)."""
    del bus
    return {
        "version": "0",
        "id": id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": _utc(time).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": list(resources or []),
        "detail": json.loads(detail) if isinstance(detail, str) else dict(detail),
    }


def scheduled_event(
    rule_name: str,
    time: datetime | None = None,
    *,
    account: str = LOCAL_ACCOUNT,
    region: str = LOCAL_REGION,
) -> dict[str, Any]:
    """The event a CloudWatch/EventBridge schedule rule sends to its target."""
    return eventbridge_event(
        "aws.events",
        "Scheduled Event",
        {},
        time=time,
        resources=[f"arn:aws:events:{region}:{account}:rule/{rule_name}"],
        account=account,
        region=region,
    )
