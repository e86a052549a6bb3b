"""The tasks agent on Amazon Bedrock AgentCore Runtime (boto3 ``bedrock-agentcore``). The runtime
acts through its own tools; the vendors, quotes and e-mail count it reports are parsed (bad
shapes dropped, numbers bounded) and stored as reported, labelled ``agentcore``."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from chalicelib.providers.base import AgentInterrupted, AgentResult, ProviderError, ProviderUnavailable

#: Refused before the agent ran: a plain retry is safe.
_NOT_STARTED = {"ThrottlingException", "ServiceQuotaExceededException", "ThrottledException",
                "ConnectTimeoutError", "EndpointConnectionError"}
#: The agent may have run (or be running): only a call that joins the same session may follow.
_MAY_HAVE_STARTED = {"InternalServerException", "ServiceUnavailableException", "RuntimeClientError",
                     "ReadTimeoutError", "ConnectionClosedError", "ResponseStreamingError", "IncompleteReadError"}


def build_client(region: str, *, read_timeout: float = 590, endpoint_url: str | None = None) -> Any:
    """The ``bedrock-agentcore`` client: one attempt per call (botocore ``total_max_attempts=1``; its ``max_attempts`` counts retries), so
    a read timeout or a 5xx after the agent started is never re-sent by the SDK; the worker's
    retried invocation resumes the same session instead (see :func:`session_id_for`)."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=10, read_timeout=read_timeout, retries={"mode": "standard", "total_max_attempts": 1})
    return boto3.client("bedrock-agentcore", region_name=region, endpoint_url=endpoint_url, config=config)


def _error_code(exc: BaseException) -> str:
    return (getattr(exc, "response", None) or {}).get("Error", {}).get("Code") or type(exc).__name__


def session_id_for(task_id: str) -> str:
    """The runtime session id of a task: the task id itself (a UUID, 36 characters), so a retry
    joins the same session; an id outside AgentCore's 33-256 characters is derived from it."""
    if 33 <= len(task_id) <= 256:
        return task_id
    return "task-" + hashlib.sha256(task_id.encode()).hexdigest()


MAX_REPORTED = 50


def _text(value: Any, limit: int = 200) -> str | None:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value).strip()[:limit] or None
    return None


def _vendors(value: Any) -> list[dict[str, Any]]:
    """The runtime's vendors as ``{"name", ...}`` (strings or objects; anything else dropped)."""
    found = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict):
            fields = {k: _text(item.get(k)) for k in ("name", "email", "phone", "service", "location", "contact")}
            if fields["name"]:
                found.append({k: v for k, v in fields.items() if v})
        elif _text(item):
            found.append({"name": _text(item)})
    return found[:MAX_REPORTED]


def _quotes(value: Any) -> list[dict[str, Any]]:
    """The runtime's quotes as ``{"vendor", "price", "currency", "note"}`` (``amount`` accepted
    for ``price``); a quote without a vendor or a finite non-negative price is dropped."""
    found = []
    for item in value if isinstance(value, list) else []:
        if not isinstance(item, dict):
            continue
        raw = item.get("price", item.get("amount"))
        try:
            price = float(raw) if not isinstance(raw, bool) else None
        except (TypeError, ValueError):
            price = None
        vendor = _text(item.get("vendor"))
        if vendor and price is not None and 0 <= price < 1e12:
            found.append({"vendor": vendor, "price": price, "currency": (_text(item.get("currency"), 3) or "USD").upper(),
                          "note": _text(item.get("note", item.get("notes")), 2000) or ""})
    return found[:MAX_REPORTED]


def _count(value: Any) -> int:
    try:
        return max(0, min(int(value), 10_000)) if not isinstance(value, bool) else 0
    except (TypeError, ValueError):
        return 0


def parse_agent_payload(body: bytes, content_type: str) -> Any:
    """The agent's answer from a JSON body or a ``text/event-stream`` of ``data:`` lines."""
    text = body.decode("utf-8", errors="replace")
    if "text/event-stream" in (content_type or ""):
        parts = []
        for line in text.splitlines():
            if line.startswith("data:"):
                chunk = line[5:].strip()
                try:
                    value = json.loads(chunk)
                except json.JSONDecodeError:
                    value = chunk
                parts.append(value if isinstance(value, str) else json.dumps(value))
        text = "".join(parts)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


class AgentCoreAgent:
    provider = "agentcore"
    #: A repeated run for a task joins its runtime session (same id), whose agent answers a task
    #: it already handled with that outcome: the worker may retry it after an interruption.
    resumes_sessions = True

    def __init__(self, runtime_arn: str, region: str, client: Any = None) -> None:
        self.runtime_arn = runtime_arn
        self._region = region
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = build_client(self._region)
        return self._client

    def run(self, task_id: str, description: str) -> AgentResult:
        try:
            response = self.client.invoke_agent_runtime(
                agentRuntimeArn=self.runtime_arn,
                runtimeSessionId=session_id_for(task_id),
                contentType="application/json",
                accept="application/json",
                payload=json.dumps({"prompt": description, "task_id": task_id}).encode(),
            )
            body = response["response"]
            raw = body.read() if hasattr(body, "read") else bytes(body)
        except Exception as exc:  # noqa: BLE001 - botocore ClientError and connection errors
            code = _error_code(exc)
            if code in _MAY_HAVE_STARTED:
                raise AgentInterrupted(f"AgentCore call interrupted after it may have started: {code}") from None
            if code in _NOT_STARTED or "Connect" in code:
                raise ProviderUnavailable(f"AgentCore unavailable: {code}") from None
            raise ProviderError(f"AgentCore rejected the request: {code}") from None
        answer = parse_agent_payload(raw, response.get("contentType", ""))
        if isinstance(answer, dict):
            text = answer.get("response") or answer.get("result") or answer.get("output") or json.dumps(answer)
            return AgentResult(
                response_text=str(text)[:8000], vendors=_vendors(answer.get("vendors")),
                quotes=_quotes(answer.get("quotes")), emails_sent=_count(answer.get("emails_sent")),
                provider_used=self.provider, raw=answer,
            )
        return AgentResult(response_text=str(answer), vendors=[], quotes=[], emails_sent=0,
                           provider_used=self.provider, raw=answer)
