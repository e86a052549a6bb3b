"""Secrets from SSM Parameter Store SecureStrings, cached in memory with a TTL.

``get_secret("ANTHROPIC_API_KEY")`` reads ``{SSM_PREFIX}/ANTHROPIC_API_KEY`` (decrypted) when
SSM_PREFIX is set (the default outside the local stage is ``/collections``), and falls back to
the environment variable of the same name, then to its aliases (``CLAUDE_API_KEY`` is accepted
for the Anthropic key). Values are never logged.

Only SSM's ``ParameterNotFound`` means "absent" (then the environment is asked), and an absent
secret is remembered for at most ``ABSENT_TTL_SECONDS``. Any other SSM error (throttling, access
denied, KMS, network) raises :class:`SecretUnavailable` and is never cached: an unreadable
secret must not look like a missing one, or the caller would fall back to something else.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalicelib import settings
from chalicelib.errors import Unavailable

log = logging.getLogger(__name__)

#: Environment-variable aliases, tried after the canonical name.
ALIASES: dict[str, tuple[str, ...]] = {
    "ANTHROPIC_API_KEY": ("CLAUDE_API_KEY",),
}

#: How long "no such secret" is remembered (a parameter created later is seen this soon).
ABSENT_TTL_SECONDS = 30.0

_cache: dict[str, tuple[float, str | None]] = {}
_lock = threading.Lock()
_client_factory: Callable[[], Any] | None = None


class SecretUnavailable(Unavailable):
    """SSM answered with an error other than ParameterNotFound: the value is unknown (503)."""


def set_ssm_client_factory(factory: Callable[[], Any] | None) -> None:
    """Inject how the SSM client is built (tests pass a moto-backed client)."""
    global _client_factory
    _client_factory = factory
    clear_cache()


def clear_cache() -> None:
    with _lock:
        _cache.clear()


settings.on_reset(clear_cache)


def _ssm_client() -> Any:
    if _client_factory is not None:
        return _client_factory()
    import boto3

    return boto3.client("ssm", region_name=settings.get_settings().aws_region)


def _from_ssm(prefix: str, name: str) -> str | None:
    """The parameter's value; None only when SSM says it does not exist."""
    parameter = f"{prefix}/{name}"
    try:
        response = _ssm_client().get_parameter(Name=parameter, WithDecryption=True)
    except Exception as exc:  # noqa: BLE001 - botocore ClientError and connection errors alike
        code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code") or type(exc).__name__
        if code == "ParameterNotFound":
            return None
        log.warning("SSM parameter %s could not be read (%s)", parameter, code)
        raise SecretUnavailable(f"SSM parameter {parameter} could not be read ({code}); retry shortly") from None
    return response["Parameter"]["Value"]


def _from_env(name: str) -> str | None:
    for candidate in (name, *ALIASES.get(name, ())):
        value = os.environ.get(candidate)
        if value:
            return value
    return None


def get_secret(name: str) -> str | None:
    """The secret called ``name``, or None when neither SSM nor the environment has it.
    Raises :class:`SecretUnavailable` when SSM cannot be read (not cached)."""
    config = settings.get_settings()
    now = time.monotonic()
    with _lock:
        hit = _cache.get(name)
        if hit and hit[0] > now:
            return hit[1]
    value = _from_ssm(config.ssm_prefix, name) if config.ssm_prefix else None
    if value is None:
        value = _from_env(name)
    ttl = config.secrets_ttl_seconds if value is not None else min(config.secrets_ttl_seconds, ABSENT_TTL_SECONDS)
    with _lock:
        _cache[name] = (now + ttl, value)
    return value


def require_secret(name: str) -> str:
    """Like :func:`get_secret` but raises :class:`MissingSetting` naming the secret."""
    value = get_secret(name)
    if not value:
        prefix = settings.get_settings().ssm_prefix
        where = f"SSM parameter {prefix}/{name} or " if prefix else ""
        raise settings.MissingSetting(name, f"set {where}environment variable {name}")
    return value


def local_generated_secret(path: Path) -> str:
    """The local stage's secret kept in ``path``: generated once (48 random bytes, URL-safe),
    readable by its owner only, then read back on every start."""
    if path.exists():
        return path.read_text().strip()
    import secrets as pysecrets

    path.parent.mkdir(parents=True, exist_ok=True)
    secret = pysecrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret
