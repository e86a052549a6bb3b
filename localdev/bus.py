"""The local EventBridge bus: :class:`chalicelib.ports.EventBus` over the local runtime."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localdev.runtime import LocalRuntime


class LocalEventBus:
    """``put_event`` queues the event for every ``on_cw_event`` rule it matches."""

    def __init__(self, runtime: LocalRuntime, bus_name: str = "default") -> None:
        self._runtime = runtime
        self._bus = bus_name

    def put_event(self, source: str, detail_type: str, detail: Mapping[str, Any]) -> str:
        return self._runtime.put_event(source, detail_type, detail, bus=self._bus)
