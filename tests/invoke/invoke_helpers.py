"""Helpers shared by the invoke tests (a plain module, so tests can import it by name)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from botocore.response import StreamingBody

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
