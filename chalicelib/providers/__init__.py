"""AI providers behind small interfaces: Claude, Voyage, AgentCore, and offline stand-ins.

Importing this package imports no SDK; each provider imports its SDK when it is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.providers.base import (
    LLM,
    Agent,
    AgentInterrupted,
    AgentResult,
    Embedder,
    EmbeddingResult,
    JsonResult,
    ProviderError,
    ProviderNotConfigured,
    ProviderOutputError,
    ProviderRefusal,
    ProviderUnavailable,
    SchemaMismatch,
)

__all__ = [
    "LLM", "Agent", "AgentInterrupted", "AgentResult", "Embedder", "EmbeddingResult", "JsonResult", "ProviderError",
    "ProviderNotConfigured", "ProviderOutputError", "ProviderRefusal", "ProviderUnavailable", "SchemaMismatch",
    "get_agent", "get_answer_llm", "get_embedder", "get_llm", "provider_report", "provider_status",
]


#: Statuses /health reports per provider.
REAL, OFFLINE, MISSING, UNREADABLE, UNUSED = "real", "offline", "missing", "unreadable", "unused"


def _not_configured(settings: Any, provider: str, setting: str, reason: str) -> ProviderNotConfigured:
    """The error for a provider that must be real but cannot be built, with the
    ``ProviderMissing`` metric (dimension ``check=providers``) the stage's alarm watches."""
    from chalicelib import observability

    where = f"SSM parameter {settings.ssm_prefix}/{setting} or " if settings.ssm_prefix else ""
    observability.put_metrics("provider missing", {"check": "providers"}, {"ProviderMissing": (1, "Count")},
                              provider=provider, setting=setting, reason=reason)
    return ProviderNotConfigured(
        f"{provider} is not available in stage {settings.stage}: {setting} is {reason} (set {where}environment "
        f"variable {setting}; PROVIDERS=offline runs the offline stand-ins instead)",
        provider=provider, setting=setting, reason=reason)


def _read_key(name: str) -> tuple[str | None, str]:
    """(the key or None, its status: real, missing or unreadable); never raises."""
    from chalicelib.secrets import SecretUnavailable, get_secret

    try:
        key = get_secret(name)
    except SecretUnavailable:
        return None, UNREADABLE
    return (key, REAL) if key else (None, MISSING)


def _key(settings: Any, provider: str, name: str) -> str | None:
    """The API key for a real provider; None means "build the offline stand-in", which happens
    only with PROVIDERS=offline, or PROVIDERS=auto (local stage) when the key is simply absent."""
    if settings.providers == OFFLINE:
        return None
    key, status = _read_key(name)
    if key or (settings.providers == "auto" and status == MISSING):
        return key
    raise _not_configured(settings, provider, name, status)


def get_llm(settings: Any) -> LLM:
    """Claude when an Anthropic key is configured, else the offline stand-in (image analysis by
    OCR and features, pages composed from activity), on the terms of :func:`_key`."""
    key = _key(settings, "claude", "ANTHROPIC_API_KEY")
    if not key:
        from chalicelib.providers.offline_llm import OfflineLLM

        return OfflineLLM()
    from chalicelib.providers.claude import ClaudeLLM

    return ClaudeLLM(key, settings.claude_model, base_url=settings.anthropic_base_url or None,
                     timeout=settings.provider_timeout_seconds, max_retries=settings.provider_max_retries)


def get_answer_llm(settings: Any) -> LLM | None:
    """Claude for search answers (SEARCH_ANSWER_TIMEOUT_SECONDS, one retry: an answer must not
    hold a search response for long), or None for the offline (extractive) answers, on the
    same terms as :func:`get_llm` (see :func:`_key`)."""
    key = _key(settings, "claude", "ANTHROPIC_API_KEY")
    if not key:
        return None
    from chalicelib.providers.claude import ClaudeLLM

    return ClaudeLLM(key, settings.claude_model, base_url=settings.anthropic_base_url or None,
                     timeout=settings.search_answer_timeout_seconds, max_retries=1)


def get_embedder(settings: Any) -> Embedder:
    """Voyage when VOYAGE_API_KEY is configured, else the offline (static-embedding) embedder."""
    key = _key(settings, "voyage", "VOYAGE_API_KEY")
    if not key:
        from chalicelib.providers.static_embedder import StaticEmbedder

        return StaticEmbedder()
    from chalicelib.providers.voyage import VoyageEmbedder

    return VoyageEmbedder(key, settings.voyage_embedding_model, base_url=settings.voyage_base_url or None,
                          timeout=settings.provider_timeout_seconds, max_retries=settings.provider_max_retries)


def get_agent(settings: Any, llm: LLM | Callable[[], LLM]) -> Agent:
    """AgentCore when AGENT_RUNTIME_ARN is set, else Claude when a key is set, else offline
    (``llm`` may be a getter: it is called only when Claude is the agent)."""
    if settings.agent_runtime_arn and settings.providers != OFFLINE:
        from chalicelib.providers.agentcore import AgentCoreAgent

        return AgentCoreAgent(settings.agent_runtime_arn, settings.aws_region)
    if _key(settings, "agent", "ANTHROPIC_API_KEY"):
        from chalicelib.providers.claude import ClaudeAgent

        return ClaudeAgent(llm if hasattr(llm, "complete_json") else llm())
    from chalicelib.providers.offline import OfflineAgent

    return OfflineAgent()


def provider_report(settings: Any) -> dict[str, Any]:
    """For /health: the mode (PROVIDERS), each provider's status (real, offline, missing,
    unreadable; agentcore ``unused`` when Claude is the agent) and what is missing, named.
    Imports no SDK and never raises."""
    mode = settings.providers
    statuses: dict[str, str] = {}
    missing: list[str] = []
    for provider, name in (("claude", "ANTHROPIC_API_KEY"), ("voyage", "VOYAGE_API_KEY")):
        if mode == OFFLINE:
            statuses[provider] = OFFLINE
            continue
        _, status = _read_key(name)
        if status == MISSING and mode == "auto":
            status = OFFLINE
        statuses[provider] = status
        if status in (MISSING, UNREADABLE):
            where = f"SSM parameter {settings.ssm_prefix}/{name} or " if settings.ssm_prefix else ""
            missing.append(f"{name} ({where}environment variable {name}) is {status}")
    if mode == OFFLINE:
        statuses["agentcore"] = OFFLINE
    elif settings.agent_runtime_arn:
        statuses["agentcore"] = REAL
    else:
        statuses["agentcore"] = OFFLINE if mode == "auto" else UNUSED
    return {"mode": mode, "providers": statuses, "missing": missing}


def provider_status(settings: Any) -> dict[str, str]:
    """Each provider's status (see :func:`provider_report`)."""
    return provider_report(settings)["providers"]
