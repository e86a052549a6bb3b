"""The :class:`chalicelib.ports.Invoker` port on top of :class:`LambdaAdapter`:
one adapter (and its health record) per function, retries with backoff and jitter."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from .adapter import LambdaAdapter


class AdapterInvoker:
    def __init__(self, region: str, *, client: Any = None, max_retries: int = 3,
                 initial_retry_delay: float = 0.5, max_retry_delay: float = 8.0, **adapter_kwargs: Any) -> None:
        self._region = region
        self._client = client
        self._options = {"max_retries": max_retries, "initial_retry_delay": initial_retry_delay,
                         "max_retry_delay": max_retry_delay, **adapter_kwargs}
        self._adapters: dict[str, LambdaAdapter] = {}
        self._lock = threading.Lock()

    def adapter(self, function: str) -> LambdaAdapter:
        with self._lock:
            adapter = self._adapters.get(function)
            if adapter is None:
                module = function.rsplit(":", 1)[-1] if function.startswith("arn:") else function
                module = "".join(c if c.isalnum() or c in "-_" else "_" for c in module) or "function"
                adapter = LambdaAdapter(function, self._region, module, client=self._client, **self._options)
                self._adapters[function] = adapter
            return adapter

    def invoke_async(self, function: str, payload: Mapping[str, Any]) -> None:
        """InvocationType=Event; raises :class:`InvocationFailed` when it was not queued."""
        self.adapter(function).invoke_payload(dict(payload), "Event").raise_for_error()

    def invoke(self, function: str, payload: Mapping[str, Any]) -> Any:
        """InvocationType=RequestResponse; the parsed result, or :class:`InvocationFailed`."""
        return self.adapter(function).invoke_payload(dict(payload), "RequestResponse").raise_for_error().payload

    def health(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: adapter.get_health_status() for name, adapter in self._adapters.items()}
