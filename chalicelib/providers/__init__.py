"""AI providers behind small interfaces: Claude, Voyage, AgentCore, and offline stand-ins.

Importing this package imports no SDK; each provider imports its SDK when it is built.
"""

from __future__ import annotations

from typing import Any

from chalicelib.providers.base import (
    LLM,
    Agent,
    AgentResult,
    Embedder,
    EmbeddingResult,
    JsonResult,
    ProviderError,
    ProviderOutputError,
    ProviderRefusal,
    ProviderUnavailable,
    SchemaMismatch,
)

__all__ = [
    "LLM", "Agent", "AgentResult", "Embedder", "EmbeddingResult", "JsonResult", "ProviderError",
    "ProviderOutputError", "ProviderRefusal", "ProviderUnavailable", "SchemaMismatch", "get_agent", "get_answer_llm", "get_embedder", "get_llm", "provider_status",
]


def _anthropic_key() -> str | None:
    from chalicelib.secrets import get_secret

    return get_secret("ANTHROPIC_API_KEY")


def _voyage_key() -> str | None:
    from chalicelib.secrets import get_secret

    return get_secret("VOYAGE_API_KEY")


def get_llm(settings: Any) -> LLM:
    """Claude when an Anthropic key is configured, else the offline stand-in (image analysis by
    OCR and features, pages composed from activity)."""
    key = _anthropic_key()
    if not key:
        from chalicelib.providers.offline_llm import OfflineLLM

        return OfflineLLM()
    from chalicelib.providers.claude import ClaudeLLM

    return ClaudeLLM(key, settings.claude_model, base_url=settings.anthropic_base_url or None,
                     timeout=settings.provider_timeout_seconds, max_retries=settings.provider_max_retries)


def get_answer_llm(settings: Any) -> LLM | None:
    """Claude for search answers (SEARCH_ANSWER_TIMEOUT_SECONDS, one retry: an answer must not
    hold a search response for long), or None without a key: answers are then extractive."""
    key = _anthropic_key()
    if not key:
        return None
    from chalicelib.providers.claude import ClaudeLLM

    return ClaudeLLM(key, settings.claude_model, base_url=settings.anthropic_base_url or None,
                     timeout=settings.search_answer_timeout_seconds, max_retries=1)


def get_embedder(settings: Any) -> Embedder:
    """Voyage when VOYAGE_API_KEY is configured, else the offline (static-embedding) embedder."""
    key = _voyage_key()
    if not key:
        from chalicelib.providers.static_embedder import StaticEmbedder

        return StaticEmbedder()
    from chalicelib.providers.voyage import VoyageEmbedder

    return VoyageEmbedder(key, settings.voyage_embedding_model, base_url=settings.voyage_base_url or None,
                          timeout=settings.provider_timeout_seconds, max_retries=settings.provider_max_retries)


def get_agent(settings: Any, llm: LLM) -> Agent:
    """AgentCore when AGENT_RUNTIME_ARN is set, else Claude when a key is set, else offline."""
    if settings.agent_runtime_arn:
        from chalicelib.providers.agentcore import AgentCoreAgent

        return AgentCoreAgent(settings.agent_runtime_arn, settings.aws_region)
    if _anthropic_key():
        from chalicelib.providers.claude import ClaudeAgent

        return ClaudeAgent(llm)
    from chalicelib.providers.offline import OfflineAgent

    return OfflineAgent()


def provider_status(settings: Any) -> dict[str, str]:
    """Which providers are real and which offline (for /health); imports no SDK."""
    return {
        "claude": "real" if _anthropic_key() else "offline",
        "voyage": "real" if _voyage_key() else "offline",
        "agentcore": "real" if settings.agent_runtime_arn else "offline",
    }
