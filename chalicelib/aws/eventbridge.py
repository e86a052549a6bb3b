"""EventBridge as a :class:`chalicelib.ports.EventBus`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class EventPublishError(RuntimeError):
    """EventBridge refused the event; the caller's handler fails and its source retries."""


class EventBridgeBus:
    """``PutEvents`` on one bus through an injected boto3 events client."""

    def __init__(self, client: Any, bus_name: str = "default") -> None:
        self._events = client
        self._bus = bus_name

    def put_event(self, source: str, detail_type: str, detail: Mapping[str, Any]) -> str:
        response = self._events.put_events(
            Entries=[
                {
                    "Source": source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, default=str),
                    "EventBusName": self._bus,
                }
            ]
        )
        entry = response["Entries"][0]
        if response.get("FailedEntryCount") or "EventId" not in entry:
            raise EventPublishError(
                f"{detail_type} not published: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}"
            )
        return entry["EventId"]
