"""The tasks use cases: create (202 + async worker), read, list, the worker, the deadline sweep."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from chalicelib import errors, paging
from chalicelib.settings import DEFAULTS, TASK_CLAIM_MARGIN_SECONDS
from chalicelib.tasks.model import (
    ACTIVE,
    COMPLETED,
    ERROR,
    MSG_COMPLETED,
    MSG_CREATED,
    MSG_INVOKED,
    MSG_STARTED,
    PENDING,
    PROCESSING,
    Change,
    Page,
    Task,
    WorkerPayload,
    event,
    new_task_id,
)
from chalicelib.tasks.store import BadCursor, TaskExists, TaskStore
from chalicelib.timeutil import iso, utcnow

log = logging.getLogger(__name__)

#: Builds the tools for one run: ``(task_id, description, on_event(message, type)) ->``
#: a :class:`chalicelib.ports.Tools` (``vendors.tools.Toolbox``, whose ``requests`` it counts).
ToolsFactory = Callable[[str, str, Callable[[str, str], None]], Any]

#: How a sweeper re-invocation's timeline message begins (they are counted by a field, not this text).
REINVOKED_PREFIX = "Worker did not start within"


def validate_description(body: dict[str, Any], max_chars: int) -> str:
    if "description" not in body:
        raise errors.BadRequest("description is required", field="description")
    description = body["description"]
    if not isinstance(description, str):
        raise errors.BadRequest(f"description must be a string, got {type(description).__name__}",
                                field="description")
    description = description.strip()
    if not description:
        raise errors.BadRequest("description must not be empty", field="description")
    if len(description) > max_chars:
        raise errors.PayloadTooLarge(f"description is {len(description)} characters; the limit is {max_chars}",
                                     field="description")
    return description


def dependency_down(exc: BaseException) -> bool:
    """The database or an AWS service failing transiently (the tools use both): the run is
    retried like a provider outage instead of failing the task."""
    from sqlalchemy.exc import DBAPIError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from chalicelib.aws.transient import is_transient

    if isinstance(exc, (OperationalError, PoolTimeout)):
        return True
    return (isinstance(exc, DBAPIError) and exc.connection_invalidated) or is_transient(exc)


def worker_payload(task: Task) -> dict[str, str]:
    """The worker's async payload: the task to run (``user_id`` names its owner in the log only)."""
    return WorkerPayload.for_task(task).to_payload()


class TaskService:
    def __init__(self, store: TaskStore, invoker: Any, worker_function: str, *, deadline_seconds: int,
                 max_description_chars: int, reinvoke_after_seconds: int = DEFAULTS.task_reinvoke_after_seconds,
                 reinvoke_max: int = DEFAULTS.task_reinvoke_max,
                 worker_timeout_seconds: int = DEFAULTS.task_worker_timeout_seconds,
                 resume_max: int = DEFAULTS.task_resume_max,
                 record_retry_seconds: float = DEFAULTS.task_record_retry_seconds,
                 handoff_seconds: float = DEFAULTS.task_handoff_seconds,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.store = store
        self.invoker = invoker
        self.worker_function = worker_function
        self.deadline_seconds = deadline_seconds
        self.max_description_chars = max_description_chars
        self.reinvoke_after_seconds = max(0, reinvoke_after_seconds)
        self.reinvoke_max = max(0, reinvoke_max)
        #: A claim older than this belongs to a worker Lambda has certainly ended.
        self.claim_stale_seconds = max(0, worker_timeout_seconds) + TASK_CLAIM_MARGIN_SECONDS
        self.resume_max = max(0, resume_max)
        self.record_retry_seconds = max(0.0, record_retry_seconds)
        self.handoff_seconds = max(0.1, handoff_seconds)
        self._sleep = sleep

    # --- API ----------------------------------------------------------------------------------

    def create(self, owner: str, body: dict[str, Any], idempotency_key: str | None = None) -> Task:
        """Store a pending task and hand it to the worker asynchronously; returns at once. If the
        hand-off fails, or has not answered within ``handoff_seconds``, the task stays pending with
        a warning and the sweeper invokes it again (the worker's claim makes a second delivery of
        the same task a no-op).

        The same Idempotency-Key from the same user returns the same task with no second worker
        run; reusing a key for a different description is a 409."""
        description = validate_description(body, self.max_description_chars)
        idempotency_key = errors.idempotency_key(idempotency_key)
        task = Task(id=new_task_id(owner, idempotency_key), owner=owner, description=description,
                    events=[event(MSG_CREATED)])
        try:
            self.store.create(task)
        except TaskExists as exists:
            if exists.task.description != description:
                raise errors.Conflict("Idempotency-Key was already used with a different description",
                                      field="Idempotency-Key") from None
            return exists.task
        try:
            self._hand_off(task)
        except Exception as exc:  # noqa: BLE001 - the task is stored: the sweeper hands it off again
            reason = f"{type(exc).__name__}: {exc}"[:300]
            log.error("task %s: could not start the worker, the sweeper will invoke it again: %s", task.id, reason)
            warning = event(f"Could not start the worker ({reason}); the sweeper will invoke it again", "warning")
            return self.store.apply(task.id, Change(ACTIVE, warning)) or self.store.get(task.id) or task
        return self.store.apply(task.id, Change(ACTIVE, event(MSG_INVOKED))) or self.store.get(task.id) or task

    def _hand_off(self, task: Task) -> None:
        """``invoke_async`` bounded by ``handoff_seconds`` (run on a daemon thread, so a hung
        invoke never holds the request past API Gateway's timeout); raises TimeoutError when it
        has not answered in time, or the invoke's own error."""
        done = threading.Event()
        failure: list[BaseException] = []

        def call() -> None:
            try:
                self.invoker.invoke_async(self.worker_function, worker_payload(task))
            except BaseException as exc:  # noqa: BLE001 - handed back to the request's thread
                failure.append(exc)
            finally:
                done.set()

        context = contextvars.copy_context()  # the request's trace id goes with the payload
        threading.Thread(target=context.run, args=(call,), name=f"handoff-{task.id[:8]}", daemon=True).start()
        if not done.wait(self.handoff_seconds):
            raise TimeoutError(f"the worker invoke did not answer within {self.handoff_seconds:g} s")
        if failure:
            raise failure[0]

    def get(self, owner: str, task_id: str) -> Task:
        task = self.store.get(task_id, owner=owner)
        if task is None:
            raise errors.NotFound(f"no task {task_id}")
        if task.status in ACTIVE and task.created_at < self._cutoff():
            task = self._expire(task) or self.store.get(task_id, owner=owner) or task
        return task

    def list(self, owner: str, limit: int, cursor: str | None) -> Page:
        try:
            return self.store.list(owner, limit, cursor or None)
        except BadCursor as exc:
            raise paging.bad_cursor_request(exc) from None

    # --- worker -------------------------------------------------------------------------------

    def run_worker(self, task_id: str, agent: Any, tools: ToolsFactory | None = None,
                   deadline: float | None = None) -> dict[str, Any]:
        """Run the agent once for a pending task. A duplicate delivery finds it no longer
        pending and does nothing, unless the task is ``processing`` under a stale claim (the
        worker holding it was ended by Lambda: timeout, out of memory, crash): then this worker
        takes the claim over in one conditional write and resumes (see :meth:`_take_over`).
        An agent outage puts it back to pending and raises, so the async invoke is retried (and
        the sweeper ends it at the deadline). An interruption after the agent may have started
        is retried only for an agent that resumes its session (the retry joins the same run);
        any other agent's task ends in error rather than run twice.

        An agent that acts through tools (``uses_tools``) gets ``tools(task_id, description,
        on_event)`` and ``deadline`` (``time.monotonic()`` seconds); the task's vendors, quotes
        and e-mail count are then counted from the tools' records, never taken from its answer."""
        from chalicelib.providers import AgentInterrupted, ProviderUnavailable

        claimed = self.store.apply(task_id, Change((PENDING,), event(MSG_STARTED), PROCESSING, take_claim=True))
        if claimed is None:
            taken = self._take_over(task_id, agent, tools)
            if not isinstance(taken, Task):
                return taken
            claimed = taken
        claim = claimed.claim
        toolbox = None
        try:
            if getattr(agent, "uses_tools", False):
                if tools is None:
                    raise RuntimeError("this agent acts through tools and none are wired")
                toolbox = tools(task_id, claimed.description, self._timeline(task_id))
                result = agent.run(task_id, claimed.description, tools=toolbox, deadline=deadline)
            else:
                result = agent.run(task_id, claimed.description)
        except Exception as exc:  # noqa: BLE001 - the task records why it failed, or waits for a retry
            if isinstance(exc, AgentInterrupted) and not getattr(agent, "resumes_sessions", False):
                return self._fail(task_id, f"Agent interrupted after it may have acted ({exc}); not run again",
                                  claim, toolbox)
            if isinstance(exc, AgentInterrupted):
                self._record(task_id, Change((PROCESSING,), event(
                    f"Agent call interrupted ({exc}); the retry resumes the same agent session", "warning"), PENDING,
                    claim=claim))
                raise
            if isinstance(exc, ProviderUnavailable) or dependency_down(exc):
                what = exc if isinstance(exc, ProviderUnavailable) else f"a dependency is down ({type(exc).__name__})"
                self._record(task_id, Change((PROCESSING,), event(f"Agent unavailable, will retry: {what}",
                                                                  "warning"), PENDING, claim=claim))
                raise
            log.exception("task %s: agent failed", task_id)
            return self._fail(task_id, f"Agent failed: {type(exc).__name__}: {exc}", claim, toolbox)
        answer = {"agent_response": result.response_text, "provider_used": result.provider_used}
        if toolbox is None:  # an external runtime (AgentCore): what it reports, parsed
            answer.update(vendors=result.vendors, quotes=result.quotes, emails_sent=result.emails_sent)

        def outcome() -> dict[str, Any]:
            return {**answer, **self._effects(toolbox, task_id)}

        done = self._record(task_id, lambda: Change((PROCESSING,), event(MSG_COMPLETED, "success"), COMPLETED,
                                                    outcome(), claim=claim))
        if done is None:
            done = self._record_late(task_id, claim, outcome)
        if toolbox is not None:
            self._recount(toolbox, task_id, done)
        return {"task_id": task_id, "status": done.status if done else "unknown"}

    def _fail(self, task_id: str, reason: str, claim: int, toolbox: Any = None) -> dict[str, Any]:
        reason = reason[:1000]
        self._record(task_id, lambda: Change((PROCESSING,), event(reason, "error"), ERROR,
                                             {"error_message": reason, **self._effects(toolbox, task_id)},
                                             claim=claim))
        return {"task_id": task_id, "status": ERROR}

    # --- a stopped worker's claim -------------------------------------------------------------

    def _stale(self, task: Task) -> bool:
        """Processing under a claim older than the worker's timeout plus a margin: Lambda has
        ended the invocation that holds it (a claim without a time, from before claims were
        timed, is never stale; the deadline ends such a task)."""
        return (task.status == PROCESSING and task.claimed_at is not None
                and task.claimed_at < _ago(self.claim_stale_seconds))

    def _take_over(self, task_id: str, agent: Any, tools: ToolsFactory | None) -> Task | dict[str, Any]:
        """The task was not pending. Under a stale claim this worker takes it over (one
        conditional write on the claim's number: of two takers only one wins) and resumes:
        AgentCore joins the same session (its id is the task id); a tool-driven agent runs again
        and its tools do nothing twice (``request_quote`` is idempotent per vendor and task).
        Past ``resume_max`` resumes, or for an agent that can do neither, the task ends in error.
        Anything else (a fresh claim: the worker is alive; a final status) is skipped."""
        current = self.store.get(task_id)
        if current is None or not self._stale(current):
            status = current.status if current else "missing"
            log.info("task %s: not pending (%s); duplicate delivery skipped", task_id, status)
            return {"task_id": task_id, "skipped": True, "status": status}
        resumable = getattr(agent, "uses_tools", False) or getattr(agent, "resumes_sessions", False)
        stopped = (f"worker holding the task stopped (claim {current.claim} from {current.claimed_at} is older "
                   f"than {self.claim_stale_seconds} s)")
        if not resumable:
            return self._give_up_claim(current, f"The {stopped} after the agent may have acted; "
                                                "this agent cannot resume, so it is not run again", agent, tools)
        if current.resumes >= self.resume_max:
            return self._give_up_claim(current, f"The {stopped}, {current.resumes + 1} time(s) in all; "
                                                f"resumed at most {self.resume_max} time(s), giving up", agent, tools)
        number = current.resumes + 1
        resumed = event(f"Resumed after a worker stopped: the {stopped} ({number} of {self.resume_max})", "warning",
                        resumed=number)
        taken = self.store.apply(task_id, Change((PROCESSING,), resumed, PROCESSING, claim=current.claim,
                                                 take_claim=True))
        if taken is None:
            log.info("task %s: another worker took over the stale claim first; skipped", task_id)
            return {"task_id": task_id, "skipped": True, "status": PROCESSING}
        log.warning("task %s: the %s; resuming (claim %d)", task_id, stopped, taken.claim)
        return taken

    def _give_up_claim(self, task: Task, reason: str, agent: Any, tools: ToolsFactory | None) -> dict[str, Any]:
        """End a stale claim's task in error, with what its tools did counted from their records."""
        toolbox = None
        if getattr(agent, "uses_tools", False) and tools is not None:
            toolbox = tools(task.id, task.description, lambda message, kind: None)
        log.error("task %s: %s", task.id, reason)
        reason = reason[:1000]
        ended = self.store.apply(task.id, Change((PROCESSING,), event(reason, "error"), ERROR,
                                                 {"error_message": reason, **self._effects(toolbox, task.id)},
                                                 claim=task.claim))
        return {"task_id": task.id, "status": ERROR} if ended else {"task_id": task.id, "skipped": True,
                                                                    "status": PROCESSING}

    def _record_late(self, task_id: str, claim: int, outcome: Callable[[], dict[str, Any]]) -> Task | None:
        """The agent finished after the deadline sweep marked the task error. This worker still
        holds the task's claim, so the error can only be that sweep's: the agent's work is kept
        (status completed) with a warning saying it came late. A claim taken over meanwhile
        (this worker was thought stopped) leaves the record to the worker that took it."""
        current = self.store.get(task_id)
        if current is not None and current.claim != claim:
            log.warning("task %s: its claim was taken over (claim %d, this worker's %d); the outcome is left to "
                        "that worker", task_id, current.claim, claim)
            return current
        if current is None or current.status != ERROR:
            return current
        log.warning("task %s: the agent finished after the task's deadline; its result is recorded", task_id)
        warning = event(f"Agent completed after the task's {self.deadline_seconds} s deadline had marked it "
                        "error; its result is recorded", "warning")
        return self._record(task_id, lambda: Change((ERROR,), warning, COMPLETED, {**outcome(), "error_message": None},
                                                    claim=claim))

    def _timeline(self, task_id: str) -> Callable[[str, str], None]:
        """A tool's timeline event; one that cannot be written is logged, not fatal to the run."""

        def add(message: str, kind: str) -> None:
            try:
                self.store.apply(task_id, Change((PROCESSING,), event(message[:500], kind)))
            except Exception as exc:  # noqa: BLE001 - the records, not the timeline, are the truth
                log.warning("task %s: timeline event not written (%s)", task_id, type(exc).__name__)

        return add

    @staticmethod
    def _effects(toolbox: Any, task_id: str) -> dict[str, Any]:
        return toolbox.requests.effects(task_id) if toolbox is not None else {}

    def _recount(self, toolbox: Any, task_id: str, done: Task | None) -> None:
        """A vendor may have answered between the count and the write: count again after it."""
        from chalicelib.vendors.desk import recount

        if done is None:
            return
        try:
            recount(self.store, toolbox.requests, task_id,
                    {"vendors": done.vendors, "quotes": done.quotes, "emails_sent": done.emails_sent})
        except Exception as exc:  # noqa: BLE001 - the next quote or re-count repairs it
            log.warning("task %s: re-count after completion failed (%s)", task_id, type(exc).__name__)

    def _record(self, task_id: str, change: Change | Callable[[], Change]) -> Task | None:
        """Apply the agent's outcome, retrying a failing store for ``record_retry_seconds``: the
        agent has run (and may have e-mailed vendors), so a database blip must not lose its
        answer, and a retried invocation would find the task ``processing`` and skip it.
        ``change`` may be a callable building it (re-counted from the records on each try)."""
        deadline = time.monotonic() + self.record_retry_seconds
        delay, attempt = 0.5, 1
        while True:
            try:
                return self.store.apply(task_id, change() if callable(change) else change)
            except Exception as exc:  # noqa: BLE001 - any store failure: retry, then let Lambda see it
                if time.monotonic() + delay > deadline:
                    log.error("task %s: could not record the outcome after %d attempt(s): %s: %s",
                              task_id, attempt, type(exc).__name__, exc)
                    raise
                log.warning("task %s: recording the outcome failed (%s); retrying in %.1f s",
                            task_id, type(exc).__name__, delay)
            self._sleep(delay)
            delay, attempt = min(delay * 2, 8.0), attempt + 1

    # --- deadline -----------------------------------------------------------------------------

    def _cutoff(self) -> str:
        return _ago(self.deadline_seconds)

    def _expire(self, task: Task) -> Task | None:
        reason = (f"Task did not finish within {self.deadline_seconds} s (status was {task.status}); "
                  "the worker invocation was lost or timed out")
        return self.store.apply(task.id, Change(ACTIVE, event(reason, "error"), ERROR, {"error_message": reason}))

    def sweep(self) -> dict[str, int]:
        """Mark every task past its deadline as error, then re-invoke the worker for each task
        still pending with no timeline activity for ``reinvoke_after_seconds`` (its async
        invocation was lost), at most ``reinvoke_max`` times; after that it is marked error.
        A task ``processing`` under a stale claim (its worker stopped) is re-invoked too, at
        most once per ``reinvoke_after_seconds`` per claim: the worker takes the claim over."""
        expired = sum(1 for task in self.store.overdue(self._cutoff()) if self._expire(task))
        reinvoked = resumed = 0
        cutoff = _ago(self.reinvoke_after_seconds)
        stale_cutoff = _ago(self.claim_stale_seconds)
        for task in self.store.overdue(max(cutoff, stale_cutoff), limit=500):
            if task.status == PROCESSING:
                resumed += self._reinvoke_stale(task, cutoff)
                continue
            if task.status != PENDING or task.updated_at >= cutoff:
                continue  # touched recently (a retry may still be on its way)
            done = task.reinvocations
            if done >= self.reinvoke_max:
                expired += self._give_up(task, done + 1)
            else:
                reinvoked += self._reinvoke(task, done + 1)
        if expired:
            log.warning("task sweeper: %d task(s) marked error", expired)
        if reinvoked:
            log.warning("task sweeper: %d lost worker invocation(s) sent again", reinvoked)
        if resumed:
            log.warning("task sweeper: %d task(s) whose worker stopped invoked again to resume", resumed)
        return {"expired": expired, "reinvoked": reinvoked + resumed, "resumed": resumed}

    def _reinvoke_stale(self, task: Task, quiet_cutoff: str) -> int:
        if not self._stale(task):
            return 0
        last = task.stale_claim_reinvoked_at()
        if last is not None and last >= quiet_cutoff:
            return 0  # re-invoked for this claim recently; that worker may still be on its way
        message = (f"Worker stopped: its claim from {task.claimed_at} is older than {self.claim_stale_seconds} s; "
                   "invoked again to resume")
        if self.store.apply(task.id, Change((PROCESSING,), event(message, "warning", stale_claim=task.claim),
                                            claim=task.claim)) is None:
            return 0  # finished, or taken over meanwhile
        try:
            self.invoker.invoke_async(self.worker_function, worker_payload(task))
        except Exception as exc:  # noqa: BLE001 - the next sweep tries again
            log.error("task %s: re-invoking the worker failed: %s: %s", task.id, type(exc).__name__, exc)
            return 0
        return 1

    def _reinvoke(self, task: Task, attempt: int) -> int:
        message = (f"{REINVOKED_PREFIX} {self.reinvoke_after_seconds} s; "
                   f"invoked again ({attempt} of {self.reinvoke_max})")
        if self.store.apply(task.id, Change((PENDING,), event(message, "warning", reinvocation=attempt))) is None:
            return 0  # a worker claimed it meanwhile
        try:
            self.invoker.invoke_async(self.worker_function, worker_payload(task))
        except Exception as exc:  # noqa: BLE001 - counted as an attempt; the next sweep tries again
            log.error("task %s: re-invoking the worker failed: %s: %s", task.id, type(exc).__name__, exc)
            return 0
        return 1

    def _give_up(self, task: Task, invocations: int) -> int:
        reason = (f"No worker ran the task after {invocations} invocations "
                  f"({self.reinvoke_after_seconds} s apart); giving up")
        changed = self.store.apply(task.id, Change((PENDING,), event(reason, "error"), ERROR, {"error_message": reason}))
        return 1 if changed else 0


def _ago(seconds: float) -> str:
    """The time ``seconds`` ago as the stores write times (ISO 8601, UTC, comparable as text)."""
    return iso(utcnow() - timedelta(seconds=seconds))
