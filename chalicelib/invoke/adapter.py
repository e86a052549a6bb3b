"""LambdaAdapter: invoke one Lambda function for a module, with retries and health.

The adapter owns retries: botocore's own retries are switched off (``max_attempts: 0``) so a
throttled call is retried exactly ``max_retries`` times, with exponential backoff and *equal
jitter*: before retry ``n`` (1-based) it sleeps ``cap/2 + U(0, cap/2)`` where
``cap = min(max_retry_delay, initial_retry_delay * 2**(n-1))``. Equal jitter (rather than full
jitter) keeps a floor under each wait, so a throttled function always gets some breathing
room, while callers throttled together still spread out.

Invocation errors never raise: :meth:`LambdaAdapter.execute` returns an
:class:`ExecuteResponse` with ``success=False`` and ``error``. Configuration errors raise
``ValueError`` naming the argument.

A read timeout on a ``RequestResponse`` call is retried, as the seed asks; the function may
have run anyway, so like every AWS event source this is at-least-once: make the function
idempotent on ``request_id``.

boto3 and botocore are imported only when the first call builds the client (cold-start cost
is paid by the first invocation, not by ``import``). Payloads and credentials are never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import re
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from .classification import ErrorClassification, classify_error, http_status
from .health import HealthTracker
from .models import (
    ExecuteRequest,
    ExecuteResponse,
    build_payload,
    parse_invoke_response,
)

log = logging.getLogger(__name__)

INVOCATION_TYPES = ("RequestResponse", "Event")
#: Lambda's longest run time; a read timeout beyond it only hides a dead connection.
MAX_READ_TIMEOUT = 900.0
MAX_CONNECT_TIMEOUT = 900.0
MAX_FUNCTION_NAME = 64

_MODULE_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9_-]*$")
_QUALIFIER = r"(?::(?P<qualifier>\$LATEST|[A-Za-z0-9_-]{1,128}))?"
_NAME = r"(?P<name>[A-Za-z0-9_-]{1,64})"
_FULL_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:"
    + _NAME
    + _QUALIFIER
    + "$"
)
_PARTIAL_ARN_RE = re.compile(r"^(?P<account>\d{12}):function:" + _NAME + _QUALIFIER + "$")
_NAME_RE = re.compile("^" + _NAME + _QUALIFIER + "$")


def resolve_function_name(function_identifier: str, function_prefix: str = "", region: str | None = None) -> str:
    """The ``FunctionName`` to send to ``Invoke``.

    * full ARN (``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]``): used as
      is, the prefix is *not* applied; its region must match ``region`` when given;
    * partial ARN (``<account>:function:<name>[:<qualifier>]``): used as is;
    * name or ``name:alias`` / ``name:3`` / ``name:$LATEST``: the prefix is prepended to the
      name (once: a name that already starts with the prefix is left alone).
    """
    ident = (function_identifier or "").strip()
    if not ident:
        raise ValueError("function_identifier must be a non-empty function name or ARN")
    if not _PREFIX_RE.match(function_prefix or ""):
        raise ValueError(f"function_prefix may hold only letters, digits, '-' and '_', got {function_prefix!r}")

    if ident.startswith("arn:"):
        match = _FULL_ARN_RE.match(ident)
        if not match:
            raise ValueError(f"function_identifier is not a valid Lambda function ARN: {ident!r}")
        if region and match["region"] != region:
            raise ValueError(
                f"function_identifier ARN is in region {match['region']!r} but region is {region!r}"
            )
        return ident
    if _PARTIAL_ARN_RE.match(ident):
        return ident

    match = _NAME_RE.match(ident)
    if not match:
        raise ValueError(
            f"function_identifier must be a function name (letters, digits, '-', '_'), "
            f"optionally with ':qualifier', or an ARN; got {ident!r}"
        )
    name = match["name"]
    prefix = function_prefix or ""
    if prefix and not name.startswith(prefix):
        name = prefix + name
    if len(name) > MAX_FUNCTION_NAME:
        raise ValueError(
            f"function_identifier with function_prefix gives {name!r}, longer than {MAX_FUNCTION_NAME} characters"
        )
    return name + (f":{match['qualifier']}" if match["qualifier"] else "")


def _require_text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value.strip()


def _positive_number(name: str, value: Any, upper: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    if upper is not None and value > upper:
        raise ValueError(f"{name} must be at most {upper:g} seconds, got {value!r}")
    return float(value)


def _check_invocation_type(value: Any, name: str = "invocation_type") -> str:
    if value not in INVOCATION_TYPES:
        raise ValueError(f"{name} must be one of {', '.join(INVOCATION_TYPES)}, got {value!r}")
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class LambdaAdapter:
    """Invoke one Lambda function on behalf of a module; see the module docstring."""

    def __init__(
        self,
        function_identifier: str,
        region: str,
        module_name: str,
        function_prefix: str = "",
        invocation_type: str = "RequestResponse",
        max_retries: int = 3,
        initial_retry_delay: float = 0.5,
        max_retry_delay: float = 30.0,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        module_version: str = "1.0.0",
        required_scopes: Sequence[str] | None = None,
        *,
        aws_session_token: str | None = None,
        endpoint_url: str | None = None,
        client: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] | None = None,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.function_identifier = _require_text("function_identifier", function_identifier)
        self.region = _require_text("region", region)
        if not isinstance(module_name, str) or not _MODULE_NAME_RE.match(module_name):
            raise ValueError(
                f"module_name may hold only letters, digits, '_' and '-', and not be empty; got {module_name!r}"
            )
        self.module_name = module_name
        self.function_prefix = function_prefix or ""
        self.function_name = resolve_function_name(self.function_identifier, self.function_prefix, self.region)
        self.invocation_type = _check_invocation_type(invocation_type)

        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        self.max_retries = max_retries
        self.initial_retry_delay = _positive_number("initial_retry_delay", initial_retry_delay)
        self.max_retry_delay = _positive_number("max_retry_delay", max_retry_delay)
        if self.max_retry_delay < self.initial_retry_delay:
            raise ValueError(
                f"max_retry_delay ({max_retry_delay!r}) must be >= initial_retry_delay ({initial_retry_delay!r})"
            )
        self.connect_timeout = _positive_number("connect_timeout", connect_timeout, MAX_CONNECT_TIMEOUT)
        self.read_timeout = _positive_number("read_timeout", read_timeout, MAX_READ_TIMEOUT)

        if bool(aws_access_key_id) != bool(aws_secret_access_key):
            missing = "aws_secret_access_key" if aws_access_key_id else "aws_access_key_id"
            raise ValueError(f"{missing} is required when the other AWS credential is given")
        self._credentials = {
            k: v
            for k, v in (
                ("aws_access_key_id", aws_access_key_id),
                ("aws_secret_access_key", aws_secret_access_key),
                ("aws_session_token", aws_session_token),
            )
            if v
        }
        self.module_version = _require_text("module_version", module_version)
        if isinstance(required_scopes, str):
            raise ValueError("required_scopes must be a list of scope names, not a string")  # noqa: TRY004 (seed: ValueError)
        self.required_scopes = list(required_scopes or [])
        if not all(isinstance(s, str) and s for s in self.required_scopes):
            raise ValueError(f"required_scopes must hold non-empty strings, got {self.required_scopes!r}")
        self.endpoint_url = endpoint_url

        self._client = client
        self._client_lock = threading.Lock()
        self._sleep = sleep
        self._async_sleep = async_sleep or asyncio.sleep
        self._rng = rng
        self._clock = clock or (lambda: datetime.now(UTC))
        self._health = HealthTracker(clock=self._clock)

    # -- client ---------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The boto3 Lambda client, built on first use unless one was injected."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = self._build_client()
        return self._client

    def _build_client(self) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retries={"max_attempts": 0},  # the adapter retries, with its own backoff
        )
        kwargs: dict[str, Any] = {"region_name": self.region, "config": config, **self._credentials}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        # A session per adapter: boto3's default session is not safe to share across threads.
        return boto3.session.Session().client("lambda", **kwargs)

    # -- retry policy ---------------------------------------------------------------------

    def backoff_delay(self, retry: int) -> float:
        """Seconds to wait before retry ``retry`` (1-based): equal jitter, capped."""
        cap = min(self.max_retry_delay, self.initial_retry_delay * (2 ** max(retry - 1, 0)))
        return cap / 2 + self._rng() * cap / 2

    def _next_delay(self, exc: BaseException, attempt: int) -> tuple[ErrorClassification, float | None]:
        """Classify a failed attempt, log it, and say how long to wait (None: give up)."""
        verdict = classify_error(exc)
        total = self.max_retries + 1
        delay = self.backoff_delay(attempt) if verdict.retryable and attempt < total else None
        log.warning(
            "lambda invoke failed function=%s attempt=%d/%d code=%s kind=%s %s",
            self.function_name,
            attempt,
            total,
            verdict.code,
            verdict.kind,
            f"retry_in={delay:.3f}s" if delay is not None else "giving_up",
        )
        return verdict, delay

    # -- one attempt ----------------------------------------------------------------------

    def _encode(self, payload: Mapping[str, Any]) -> bytes:
        if not isinstance(payload, Mapping):
            raise ValueError(f"payload must be a JSON object (dict), got {type(payload).__name__}")  # noqa: TRY004
        try:
            return json.dumps(payload, default=_json_default, separators=(",", ":")).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"payload is not JSON serialisable: {exc}") from exc

    def _invoke_once(self, body: bytes, invocation_type: str) -> ExecuteResponse:
        raw = self.client.invoke(FunctionName=self.function_name, InvocationType=invocation_type, Payload=body)
        return parse_invoke_response(raw, invocation_type)

    def _failure(self, verdict: ErrorClassification, exc: BaseException, attempts: int) -> ExecuteResponse:
        return ExecuteResponse(
            success=False,
            error=f"Lambda invocation failed after {attempts} attempt(s): {verdict.code}: {exc}",
            error_code=verdict.code,
            status_code=http_status(exc),
            attempts=attempts,
        )

    def _finish(self, response: ExecuteResponse, attempts: int, started: float) -> ExecuteResponse:
        response.attempts = attempts
        # Health is about reaching a working function: a module that answers
        # {"success": false} (bad arguments, say) is healthy; errors, crashes and 5xx are not.
        broken = not response.success and (
            response.error_code is not None
            or response.function_error is not None
            or (response.status_code or 0) >= 500
        )
        if broken:
            self._health.record_failure()
        else:
            self._health.record_success()
        log.log(
            logging.WARNING if broken else logging.INFO,
            "lambda invoke %s function=%s attempts=%d status=%s code=%s duration_ms=%d",
            "failed" if broken else "ok",
            self.function_name,
            attempts,
            response.status_code,
            response.error_code,
            (time.monotonic() - started) * 1000,
        )
        return response

    # -- public API -----------------------------------------------------------------------

    def build_payload(self, request: ExecuteRequest) -> dict[str, Any]:
        """The seed's invocation payload for ``request`` (timestamp from the adapter's clock)."""
        return build_payload(request, now=self._clock())

    def invoke_payload(self, payload: Mapping[str, Any], invocation_type: str | None = None) -> ExecuteResponse:
        """Invoke with a raw JSON payload, e.g. ``{"task_id": ...}`` with ``invocation_type="Event"``."""
        itype = _check_invocation_type(invocation_type or self.invocation_type)
        body = self._encode(payload)
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._invoke_once(body, itype)
            except Exception as exc:  # noqa: BLE001 - classified; never escapes to the caller
                verdict, delay = self._next_delay(exc, attempt)
                if delay is None:
                    return self._finish(self._failure(verdict, exc, attempt), attempt, started)
                self._sleep(delay)
                continue
            return self._finish(response, attempt, started)

    async def invoke_payload_async(
        self, payload: Mapping[str, Any], invocation_type: str | None = None
    ) -> ExecuteResponse:
        """:meth:`invoke_payload` for asyncio: boto3 runs in a thread, backoff uses asyncio.sleep."""
        itype = _check_invocation_type(invocation_type or self.invocation_type)
        body = self._encode(payload)
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await asyncio.to_thread(self._invoke_once, body, itype)
            except Exception as exc:  # noqa: BLE001 - classified; never escapes
                verdict, delay = self._next_delay(exc, attempt)
                if delay is None:
                    return self._finish(self._failure(verdict, exc, attempt), attempt, started)
                await self._async_sleep(delay)
                continue
            return self._finish(response, attempt, started)

    def execute(self, request: ExecuteRequest) -> ExecuteResponse:
        """Run ``request`` on the function and return its normalised answer (never raises
        for invocation errors)."""
        return self.invoke_payload(self.build_payload(request))

    async def execute_async(self, request: ExecuteRequest) -> ExecuteResponse:
        """:meth:`execute` for asyncio."""
        return await self.invoke_payload_async(self.build_payload(request))

    # -- health and info ------------------------------------------------------------------

    def get_health_status(self) -> dict[str, Any]:
        """``is_healthy, last_success, last_failure, consecutive_failures, total_requests,
        total_failures, error_rate`` exactly as the seed shows."""
        return self._health.status()

    def is_healthy(self) -> bool:
        """False once 3 requests in a row have failed; one success makes it healthy again."""
        return self._health.is_healthy()

    def get_module_info(self) -> dict[str, Any]:
        """What this module is and how it is invoked (never credentials)."""
        return {
            "name": self.module_name,
            "version": self.module_version,
            "type": "lambda",
            "function_name": self.function_name,
            "function_identifier": self.function_identifier,
            "function_prefix": self.function_prefix,
            "region": self.region,
            "invocation_type": self.invocation_type,
            "required_scopes": list(self.required_scopes),
            "max_retries": self.max_retries,
            "initial_retry_delay": self.initial_retry_delay,
            "max_retry_delay": self.max_retry_delay,
            "connect_timeout": self.connect_timeout,
            "read_timeout": self.read_timeout,
        }

    def __repr__(self) -> str:
        return f"LambdaAdapter(module={self.module_name!r}, function={self.function_name!r}, region={self.region!r})"
