"""Tasks in DynamoDB (``DYNAMODB_TABLE_NAME``): hash key ``id``; GSIs for listing by owner and
sweeping by status. Transitions are single conditional ``UpdateItem`` calls that append to
``events`` with ``list_append``, so concurrent writers never lose each other's events."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from chalicelib.paging import CURSOR_MESSAGE, PLAIN
from chalicelib.tasks.model import ACTIVE, STATUSES, Change, Page, Task
from chalicelib.tasks.store import BadCursor, TaskExists
from chalicelib.timeutil import now_iso

OWNER_INDEX = "owner-created_at-index"
STATUS_INDEX = "status-created_at-index"

#: The table as ``create_table`` wants it (deploy/ and the tests build it from this).
TABLE_DEFINITION: dict[str, Any] = {
    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    "AttributeDefinitions": [
        {"AttributeName": "id", "AttributeType": "S"},
        {"AttributeName": "owner", "AttributeType": "S"},
        {"AttributeName": "status", "AttributeType": "S"},
        {"AttributeName": "created_at", "AttributeType": "S"},
    ],
    "GlobalSecondaryIndexes": [
        {"IndexName": OWNER_INDEX, "Projection": {"ProjectionType": "ALL"},
         "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"},
                       {"AttributeName": "created_at", "KeyType": "RANGE"}]},
        {"IndexName": STATUS_INDEX, "Projection": {"ProjectionType": "ALL"},
         "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"},
                       {"AttributeName": "created_at", "KeyType": "RANGE"}]},
    ],
    "BillingMode": "PAY_PER_REQUEST",
}

_FIELDS = ("agent_response", "vendors", "quotes", "emails_sent", "error_message", "provider_used")


def _to_dynamo(value: Any) -> Any:
    return json.loads(json.dumps(value), parse_float=Decimal)


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _item_to_task(item: dict[str, Any]) -> Task:
    data = _from_dynamo(item)
    return Task(
        id=data["id"], owner=data["owner"], description=data["description"], status=data["status"],
        agent_response=data.get("agent_response"), vendors=data.get("vendors", []),
        quotes=data.get("quotes", []), emails_sent=data.get("emails_sent", 0), events=data.get("events", []),
        error_message=data.get("error_message"), provider_used=data.get("provider_used"),
        created_at=data["created_at"], updated_at=data["updated_at"], version=data.get("version", 0),
        claim=data.get("claim", 0), claimed_at=data.get("claimed_at"),
    )


def _code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


class DynamoTaskStore:
    def __init__(self, table: Any) -> None:
        """``table``: a boto3 ``dynamodb`` Table resource."""
        self._table = table

    def create(self, task: Task) -> Task:
        item = {k: v for k, v in {**task.to_api(), "owner": task.owner, "version": 0}.items() if v is not None}
        try:
            self._table.put_item(Item=_to_dynamo(item), ConditionExpression="attribute_not_exists(id)")
        except Exception as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
            existing = self.get(task.id)
            if existing is None or existing.owner != task.owner:
                raise
            raise TaskExists(existing) from None
        return task

    def get(self, task_id: str, owner: str | None = None) -> Task | None:
        item = self._table.get_item(Key={"id": task_id}, ConsistentRead=True).get("Item")
        if not item or (owner is not None and item.get("owner") != owner):
            return None
        return _item_to_task(item)

    def list(self, owner: str, limit: int, cursor: str | None = None) -> Page:
        kwargs: dict[str, Any] = {
            "IndexName": OWNER_INDEX, "KeyConditionExpression": "#o = :o",
            "ExpressionAttributeNames": {"#o": "owner"}, "ExpressionAttributeValues": {":o": owner},
            "ScanIndexForward": False, "Limit": limit,
        }
        if cursor:
            start = PLAIN.decode(cursor)
            if not isinstance(start, dict) or start.get("owner") != owner:
                raise BadCursor(CURSOR_MESSAGE)
            kwargs["ExclusiveStartKey"] = start
        response = self._table.query(**kwargs)
        last = response.get("LastEvaluatedKey")
        next_cursor = PLAIN.encode(_from_dynamo(last)) if last else None
        return Page([_item_to_task(i) for i in response.get("Items", [])], next_cursor)

    def apply(self, task_id: str, change: Change) -> Task | None:
        names = {"#s": "status", "#e": "events", "#u": "updated_at", "#v": "version"}
        values: dict[str, Any] = {":ev": [change.event], ":u": now_iso(), ":one": 1}
        sets = ["#e = list_append(#e, :ev)", "#u = :u", "#v = #v + :one"]
        if change.status:
            sets.append("#s = :ns")
            values[":ns"] = change.status
        condition = "attribute_exists(id) AND #s IN ({})"
        if change.claim is not None or change.take_claim:
            names["#c"] = "claim"
        if change.claim is not None:  # one conditional write: of two takers only one matches
            condition += " AND #c = :cl" if change.claim else " AND (attribute_not_exists(#c) OR #c = :cl)"
            values[":cl"] = change.claim
        if change.take_claim:
            sets += ["#c = if_not_exists(#c, :zero) + :one", "#ca = :u"]
            names["#ca"] = "claimed_at"
            values[":zero"] = 0
        for i, (key, value) in enumerate(k for k in change.fields.items() if k[0] in _FIELDS):
            names[f"#f{i}"] = key
            values[f":f{i}"] = value
            sets.append(f"#f{i} = :f{i}")
        expected = []
        for i, status in enumerate(change.expect):
            values[f":x{i}"] = status
            expected.append(f":x{i}")
        try:
            response = self._table.update_item(
                Key={"id": task_id}, UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=condition.format(", ".join(expected)),
                ExpressionAttributeNames=names, ExpressionAttributeValues=_to_dynamo(values),
                ReturnValues="ALL_NEW",
            )
        except Exception as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        return _item_to_task(response["Attributes"])

    def overdue(self, created_before: str, limit: int = 100) -> list[Task]:
        found: list[Task] = []
        for status in ACTIVE:
            response = self._table.query(
                IndexName=STATUS_INDEX, KeyConditionExpression="#s = :s AND created_at < :c",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": status, ":c": created_before}, Limit=limit,
            )
            found.extend(_item_to_task(i) for i in response.get("Items", []))
        return sorted(found, key=lambda t: t.created_at)[:limit]

    def count_by_status(self, created_after: str) -> dict[str, int]:
        """One COUNT query per status on the status index (keys only, paginated)."""
        counts = {}
        for status in STATUSES:
            total, start = 0, None
            while True:
                kwargs = {"ExclusiveStartKey": start} if start else {}
                response = self._table.query(
                    IndexName=STATUS_INDEX, KeyConditionExpression="#s = :s AND created_at > :c",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":s": status, ":c": created_after}, Select="COUNT", **kwargs,
                )
                total += response.get("Count", 0)
                start = response.get("LastEvaluatedKey")
                if not start:
                    break
            counts[status] = total
        return counts
