"""Seed 002's agent on Amazon Bedrock AgentCore Runtime (boto3 ``bedrock-agentcore``)."""

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
    """A stable runtime session id (33-256 chars) for a task, so a retry joins its session."""
    return "task-" + hashlib.sha256(task_id.encode()).hexdigest()


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
                response_text=str(text), vendors=list(answer.get("vendors") or []),
                quotes=list(answer.get("quotes") or []), emails_sent=int(answer.get("emails_sent") or 0),
                provider_used=self.provider, raw=answer,
            )
        return AgentResult(response_text=str(answer), vendors=[], quotes=[], emails_sent=0,
                           provider_used=self.provider, raw=answer)
