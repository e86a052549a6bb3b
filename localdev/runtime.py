"""Deliver S3 events, EventBridge events, schedules and async invocations to the handlers a
Chalice app declares, through the durable :class:`~localdev.queue.DeliveryQueue`.

Producers (the ``chalice local`` HTTP process) call :meth:`LocalRuntime.on_object_created`,
:meth:`~LocalRuntime.put_events` and :meth:`~LocalRuntime.invoke_async`, which only enqueue.
A runtime process calls :meth:`~LocalRuntime.run_forever`; tests call
:meth:`~LocalRuntime.tick_schedules` and :meth:`~LocalRuntime.drain`.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from chalice import Chalice
from chalice.app import CloudWatchEventConfig, S3EventConfig, ScheduledEventConfig

from localdev.lambda_events import (
    LOCAL_ACCOUNT,
    LOCAL_REGION,
    eventbridge_event,
    s3_object_created_event,
    scheduled_event,
)
from localdev.patterns import matches
from localdev.queue import Delivery, DeliveryQueue
from localdev.schedules import Schedule, expression_string, parse_schedule

log = logging.getLogger(__name__)

#: How often a running runtime records that it is alive (``DeliveryQueue.beat``).
HEARTBEAT_SECONDS = 2.0


@dataclass
class LambdaContext:
    """The parts of the Lambda context object handlers use."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = ""
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    timeout_seconds: float = 900.0
    _started: float = field(default_factory=time.monotonic, repr=False)

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before this invocation's timeout."""
        left = self.timeout_seconds - (time.monotonic() - self._started)
        return max(0, int(left * 1000))


@dataclass(frozen=True)
class ScheduleEntry:
    """One ``@app.schedule`` handler."""

    name: str
    rule_name: str
    expression: str
    schedule: Schedule


class LocalRuntime:
    """Routes events to a Chalice app's non-HTTP handlers and delivers them with retries."""

    def __init__(
        self,
        app: Chalice,
        queue: DeliveryQueue,
        *,
        module: ModuleType | None = None,
        stage: str = "local",
        event_bus_names: Iterable[str] = ("default",),
        region: str = LOCAL_REGION,
        account: str = LOCAL_ACCOUNT,
        workers: int = 4,
        poll_interval: float = 0.2,
        timeout_seconds: float = 900.0,
        memory_limit_in_mb: int = 128,
    ) -> None:
        self.app = app
        self.queue = queue
        self.module = module
        self.stage = stage
        self.event_bus_names = frozenset(event_bus_names)
        self.region = region
        self.account = account
        self.workers = workers
        self.poll_interval = poll_interval
        self.timeout_seconds = timeout_seconds
        self.memory_limit_in_mb = memory_limit_in_mb
        sources = list(app.event_sources)
        self.s3_handlers: list[S3EventConfig] = [s for s in sources if isinstance(s, S3EventConfig)]
        self.cw_handlers: list[CloudWatchEventConfig] = [s for s in sources if isinstance(s, CloudWatchEventConfig)]
        self.schedules: dict[str, ScheduleEntry] = {}
        for s in sources:
            if isinstance(s, ScheduledEventConfig):
                expression = expression_string(s.schedule_expression)
                self.schedules[s.name] = ScheduleEntry(
                    s.name, f"{app.app_name}-{stage}-{s.name}", expression, parse_schedule(expression)
                )
        self.lambda_functions: dict[str, Any] = {f.name: f for f in app.pure_lambda_functions}
        for name in self._handler_names():
            self._resolve(name)  # fail at start, not at the first event

    # -- handlers ---------------------------------------------------------------------------

    def _handler_names(self) -> list[str]:
        return [h.name for h in self.s3_handlers + self.cw_handlers] + list(self.schedules) + list(
            self.lambda_functions
        )

    def _resolve(self, name: str) -> Callable[[dict[str, Any], Any], Any]:
        """The (event, context) callable Lambda would call for handler ``name``."""
        handler = self.app.handler_map.get(name)
        if handler is not None:
            return handler
        config = next(
            (c for c in [*self.app.event_sources, *self.app.pure_lambda_functions] if c.name == name), None
        )
        if config is None:
            raise LookupError(f"the app declares no event handler or lambda function named {name!r}")
        attr = config.handler_string.rsplit(".", 1)[-1]
        module = self.module or sys.modules.get(config.handler_string.rsplit(".", 1)[0])
        handler = getattr(module, attr, None)
        if handler is None:
            raise LookupError(f"cannot find {config.handler_string} for handler {name!r}")
        return handler

    # -- producers --------------------------------------------------------------------------

    def on_object_created(
        self, bucket: str, key: str, size: int, etag: str, event_name: str = "ObjectCreated:Put"
    ) -> list[str]:
        """Queue the S3 notification for every ``on_s3_event`` handler whose filters match."""
        ids = []
        for handler in self.s3_handlers:
            if handler.bucket != bucket or not _s3_event_matches(handler.events, f"s3:{event_name}"):
                continue
            if handler.prefix and not key.startswith(handler.prefix):
                continue
            if handler.suffix and not key.endswith(handler.suffix):
                continue
            event = s3_object_created_event(bucket, key, size, etag, event_name, region=self.region)
            ids.append(self.queue.enqueue("s3", handler.name, event))
        if not ids:
            log.debug("no on_s3_event handler for s3://%s/%s (%s)", bucket, key, event_name)
        return ids

    def put_events(self, entries: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """EventBridge ``PutEvents``: queue each entry for every ``on_cw_event`` rule it matches.

        Returns ``{"FailedEntryCount", "Entries": [{"EventId"} | {"ErrorCode", "ErrorMessage"}]}``."""
        results: list[dict[str, str]] = []
        for entry in entries:
            missing = [k for k in ("Source", "DetailType", "Detail") if not entry.get(k)]
            if missing:
                results.append({"ErrorCode": "InvalidArgument", "ErrorMessage": f"missing {', '.join(missing)}"})
                continue
            detail = entry["Detail"]
            try:
                detail = json.loads(detail) if isinstance(detail, str) else dict(detail)
            except (ValueError, TypeError):
                detail = None
            if not isinstance(detail, dict):
                results.append({"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail must be a JSON object"})
                continue
            time_ = entry.get("Time")
            event = eventbridge_event(
                entry["Source"],
                entry["DetailType"],
                detail,
                time=time_ if isinstance(time_, datetime) else None,
                resources=list(entry.get("Resources") or []),
                account=self.account,
                region=self.region,
            )
            bus = str(entry.get("EventBusName") or "default").rsplit("/", 1)[-1]
            targets = [h.name for h in self.cw_handlers if bus in self.event_bus_names and matches(h.event_pattern, event)]
            for name in targets:
                self.queue.enqueue("event", name, event)
            log.log(
                logging.DEBUG if targets else logging.INFO,  # the deliveries have lines of their own
                "event %s %s/%s on bus %s -> %s",
                event["id"], event["source"], event["detail-type"], bus, ", ".join(targets) or "no matching rule",
            )
            results.append({"EventId": event["id"]})
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedEntryCount": failed, "Entries": results}

    def put_event(self, source: str, detail_type: str, detail: Mapping[str, Any], bus: str = "default") -> str:
        """One event (the :class:`chalicelib.ports.EventBus` shape); raises if it was rejected."""
        result = self.put_events(
            [{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": bus}]
        )
        entry = result["Entries"][0]
        if "EventId" not in entry:
            raise ValueError(f"event rejected: {entry['ErrorCode']}: {entry['ErrorMessage']}")
        return entry["EventId"]

    def _lambda_name(self, function_name: str) -> str:
        name = function_name.rsplit(":function:", 1)[-1].split(":", 1)[0]
        for candidate in (name, name.removeprefix(f"{self.app.app_name}-{self.stage}-")):
            if candidate in self.lambda_functions:
                return candidate
        known = ", ".join(sorted(self.lambda_functions)) or "none"
        raise ValueError(f"unknown lambda function {function_name!r}; the app declares: {known}")

    def invoke_async(self, function_name: str, payload: Mapping[str, Any]) -> str:
        """``InvocationType=Event``: queue a background run; returns the delivery id."""
        return self.queue.enqueue("invoke", self._lambda_name(function_name), dict(payload))

    def invoke(self, function_name: str, payload: Mapping[str, Any]) -> Any:
        """``InvocationType=RequestResponse``: run the function now and return its result."""
        name = self._lambda_name(function_name)
        start = time.monotonic()
        try:
            result = self._resolve(name)(dict(payload), self._context(name))
        except Exception as exc:
            log.warning("invoke %s failed after %.1f ms: %s", name, _ms(start), exc)
            raise
        log.info("invoke %s succeeded in %.1f ms", name, _ms(start))
        return result

    # -- schedules --------------------------------------------------------------------------

    def fire(self, name: str) -> str:
        """Queue a delivery of schedule ``name`` now (does not move its cadence)."""
        entry = self.schedules.get(name)
        if entry is None:
            known = ", ".join(sorted(self.schedules)) or "none"
            raise ValueError(f"unknown schedule {name!r}; the app declares: {known}")
        event = scheduled_event(entry.rule_name, account=self.account, region=self.region)
        return self.queue.enqueue("schedule", name, event)

    def next_fire_at(self, name: str, now: float | None = None) -> float | None:
        """When schedule ``name`` fires next (epoch seconds), from its recorded last fire."""
        entry = self.schedules[name]
        last = self.queue.schedule_last_fire(entry.rule_name)
        return entry.schedule.next_after(last if last is not None else (now or self.queue.clock()))

    def tick_schedules(self, now: float | None = None) -> list[str]:
        """Queue every schedule that is due; the last fire time is kept in SQLite, so a restart
        neither loses a fire (missed ones collapse into one) nor fires twice."""
        now = self.queue.clock() if now is None else now
        ids = []
        for name, entry in self.schedules.items():
            last = self.queue.schedule_last_fire(entry.rule_name)
            if last is None:
                last = self.queue.init_schedule(entry.rule_name, now)
            due = entry.schedule.latest_due(last, now)
            if due is None:
                continue
            event = scheduled_event(
                entry.rule_name, time=datetime.fromtimestamp(due, UTC), account=self.account, region=self.region
            )
            delivery_id = self.queue.advance_schedule(entry.rule_name, last, due, event, target=name)
            if delivery_id:
                log.debug("schedule %s (%s) due at %s -> delivery %s", name, entry.expression, event["time"], delivery_id)
                ids.append(delivery_id)
        return ids

    # -- delivery ---------------------------------------------------------------------------

    def _context(self, name: str) -> LambdaContext:
        function = f"{self.app.app_name}-{self.stage}-{name}"
        return LambdaContext(
            function_name=function,
            memory_limit_in_mb=self.memory_limit_in_mb,
            invoked_function_arn=f"arn:aws:lambda:{self.region}:{self.account}:function:{function}",
            log_group_name=f"/aws/lambda/{function}",
            timeout_seconds=self.timeout_seconds,
        )

    def execute(self, delivery: Delivery) -> str:
        """Run one claimed delivery and record the outcome (succeeded, queued for retry, failed)."""
        start = time.monotonic()
        try:
            result = self._resolve(delivery.target)(delivery.payload, self._context(delivery.target))
        except Exception as exc:  # noqa: BLE001 - a handler that raises is a failed attempt
            error = "".join(traceback.format_exception(exc)).strip()
            outcome = self.queue.fail(delivery, error)
            fields = _delivery_fields(delivery, self.queue.max_attempts, start,
                                      "retry" if outcome == "queued" else outcome)
            log.warning(
                "delivery handler=%s kind=%s id=%s attempt=%d/%d duration_ms=%.1f outcome=%s error=%s: %s",
                delivery.target, delivery.kind, delivery.id, delivery.attempts, self.queue.max_attempts,
                fields["duration_ms"], fields["outcome"], type(exc).__name__, exc,
                extra={**fields, "error": type(exc).__name__},
            )
            log.debug("delivery %s traceback:\n%s", delivery.id, error)
            return outcome
        outcome = "succeeded" if self.queue.succeed(delivery, result) else "lost"
        fields = _delivery_fields(delivery, self.queue.max_attempts, start, outcome)
        log.info(
            "delivery handler=%s kind=%s id=%s attempt=%d/%d duration_ms=%.1f outcome=%s",
            delivery.target, delivery.kind, delivery.id, delivery.attempts, self.queue.max_attempts,
            fields["duration_ms"], outcome, extra=fields,
        )
        return outcome

    def deliver_once(self) -> Delivery | None:
        """Claim and run one due delivery in this thread; None when nothing is due."""
        delivery = self.queue.claim()
        if delivery is not None:
            self.execute(delivery)
        return delivery

    def drain(self, timeout: float = 10.0) -> int:
        """Deliver until nothing is queued (waiting out retry backoff up to ``timeout``).

        Returns the number of attempts made. Deterministic: one delivery at a time."""
        deadline = time.monotonic() + timeout
        done = 0
        while True:
            if self.deliver_once() is not None:
                done += 1
                continue
            due = self.queue.next_due_at()
            if due is None:
                return done
            wait = due - self.queue.clock()
            if time.monotonic() + max(wait, 0) > deadline:
                return done
            time.sleep(min(max(wait, 0.001), 0.05))

    def run_forever(self, stop_event: threading.Event) -> None:
        """Tick schedules and deliver with ``workers`` threads until ``stop_event`` is set.

        A delivery is claimed only when a worker is free, so slow handlers do not hold leases
        on rows another runtime could deliver. In-flight deliveries finish before return."""
        slots = threading.Semaphore(self.workers)
        log.info(
            "local runtime: %d S3, %d EventBridge, %d schedule handlers, %d lambda functions; queue %s",
            len(self.s3_handlers), len(self.cw_handlers), len(self.schedules), len(self.lambda_functions),
            self.queue.path,
        )

        def work(delivery: Delivery) -> None:
            try:
                self.execute(delivery)
            except Exception:  # the queue itself failed; the lease will expire and be retried
                log.exception("delivery %s could not be recorded", delivery.id)
            finally:
                slots.release()

        last_beat = 0.0
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="local-runtime") as pool:
            while not stop_event.is_set():
                try:
                    if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                        self.queue.beat()  # `make fire` asks whether anyone is delivering
                        last_beat = time.monotonic()
                    self.tick_schedules()
                    while slots.acquire(blocking=False):
                        delivery = self.queue.claim()
                        if delivery is None:
                            slots.release()
                            break
                        pool.submit(work, delivery)
                except Exception:
                    log.exception("local runtime loop error; retrying in %.1f s", self.poll_interval)
                stop_event.wait(self.poll_interval)


def _s3_event_matches(patterns: Iterable[str], event_name: str) -> bool:
    for pattern in patterns:
        if pattern.endswith("*") and event_name.startswith(pattern[:-1]):
            return True
        if pattern == event_name:
            return True
    return False


def _delivery_fields(delivery: Delivery, max_attempts: int, start: float, outcome: str) -> dict[str, Any]:
    """A delivery line's fields, as keys of its JSON log record (``chalicelib.logs``)."""
    return {"handler": delivery.target, "kind": delivery.kind, "delivery_id": delivery.id,
            "attempt": delivery.attempts, "max_attempts": max_attempts,
            "duration_ms": round(_ms(start), 1), "outcome": outcome}


def _ms(start: float) -> float:
    return (time.monotonic() - start) * 1000
