"""Thread-safe success/failure counters for one adapter (the adapter's health tracking)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .models import utc_timestamp

#: Consecutive failures at which the adapter reports itself unhealthy.
UNHEALTHY_AFTER = 3


class HealthTracker:
    """Counts requests and failures; unhealthy at ``threshold`` consecutive failures."""

    def __init__(
        self,
        threshold: int = UNHEALTHY_AFTER,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._threshold = threshold
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._last_success: str | None = None
        self._last_failure: str | None = None
        self._consecutive_failures = 0
        self._total_requests = 0
        self._total_failures = 0

    def record_success(self) -> None:
        with self._lock:
            self._total_requests += 1
            self._consecutive_failures = 0
            self._last_success = utc_timestamp(self._clock())

    def record_failure(self) -> None:
        with self._lock:
            self._total_requests += 1
            self._total_failures += 1
            self._consecutive_failures += 1
            self._last_failure = utc_timestamp(self._clock())

    def is_healthy(self) -> bool:
        with self._lock:
            return self._consecutive_failures < self._threshold

    def status(self) -> dict[str, Any]:
        """Exactly the seed's keys, read under one lock so they agree with each other."""
        with self._lock:
            total = self._total_requests
            return {
                "is_healthy": self._consecutive_failures < self._threshold,
                "last_success": self._last_success,
                "last_failure": self._last_failure,
                "consecutive_failures": self._consecutive_failures,
                "total_requests": total,
                "total_failures": self._total_failures,
                "error_rate": (self._total_failures / total) if total else 0.0,
            }
