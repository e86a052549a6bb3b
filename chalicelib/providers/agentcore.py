"""The tasks agent on Amazon Bedrock AgentCore Runtime (boto3 ``bedrock-agentcore``)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from chalicelib.providers.base import AgentResult, ProviderError, ProviderUnavailable

_RETRYABLE = {"ThrottlingException", "ServiceQuotaExceededException", "InternalServerException",
              "ServiceUnavailableException", "RuntimeClientError", "ThrottledException"}


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

    def __init__(self, runtime_arn: str, region: str, client: Any = None) -> None:
        self.runtime_arn = runtime_arn
        self._region = region
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client("bedrock-agentcore", region_name=self._region,
                                        config=Config(read_timeout=590, retries={"mode": "standard"}))
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
        except Exception as exc:  # noqa: BLE001 - botocore ClientError and connection errors
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
            if code in _RETRYABLE or "Connect" in code or "Timeout" in code:
                raise ProviderUnavailable(f"AgentCore unavailable: {code}") from None
            raise ProviderError(f"AgentCore rejected the request: {code}") from None
        body = response["response"]
        raw = body.read() if hasattr(body, "read") else bytes(body)
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
