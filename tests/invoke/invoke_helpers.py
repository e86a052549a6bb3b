"""Helpers shared by the invoke tests (a plain module, so tests can import it by name)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from botocore.response import StreamingBody

from chalicelib.invoke import ExecuteRequest

FIXED_NOW = datetime(2024, 1, 15, 10, 30, 45, 123456, tzinfo=UTC)


def streaming(data: bytes | str | dict) -> StreamingBody:
    if isinstance(data, dict):
        data = json.dumps(data)
    if isinstance(data, str):
        data = data.encode()
    return StreamingBody(io.BytesIO(data), len(data))


class Recorder:
    """An injectable sleep and rng that remember what the adapter asked for."""

    def __init__(self, rng_values: list[float] | None = None) -> None:
        self.sleeps: list[float] = []
        self._rng = list(rng_values or [])

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def rng(self) -> float:
        return self._rng.pop(0) if self._rng else 0.5


#: Seed 003's "Lambda Invocation Payload" and the request (Example 4) that produces it.
SEED_PAYLOAD = {
    "community": {
        "id": "community_789",
        "name": "My Community",
        "is_subscribed": True,
        "subscription_order_id": "order_123",
        "seat_count": 50,
    },
    "trigger": {
        "type": "command",
        "command": "my_command",
        "context_text": "arg1 arg2",
        "event_type": None,
        "event_data": None,
    },
    "user": {
        "id": "user_123",
        "username": "MyUser",
        "platform": "discord",
        "platform_user_id": "discord_123",
    },
    "entity": {
        "id": "entity_456",
        "platform": "discord",
        "platform_entity_id": "channel_456",
    },
    "request_id": "session_abc123",
    "timestamp": "2024-01-15T10:30:45.123456Z",
}

SEED_REQUEST = ExecuteRequest(
    command="my_command",
    args=["arg1", "arg2"],
    user_id="user_123",
    entity_id="entity_456",
    community_id="community_789",
    session_id="session_abc123",
    platform="discord",
    metadata={
        "community": {
            "name": "My Community",
            "is_subscribed": True,
            "subscription_order_id": "order_123",
            "seat_count": 50,
        },
        "user": {"username": "MyUser", "platform_user_id": "discord_123"},
        "entity": {"platform_entity_id": "channel_456"},
    },
    scopes=["community.read"],
)
