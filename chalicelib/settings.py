"""Every setting the app reads, in one frozen object built from the environment.

Names follow the seeds where the seeds name them (DB_HOST, CLAUDE_API_KEY, BUCKET_NAME, ...).
Secrets are not stored here: read them with :func:`chalicelib.secrets.get_secret`, which asks
SSM Parameter Store first (when a prefix is configured) and falls back to the environment.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote_plus

PROJECT_ROOT = Path(__file__).resolve().parent.parent

LOCAL_STAGE = "local"


class MissingSetting(RuntimeError):
    """A required setting is absent; the message names it and says where to set it."""

    def __init__(self, name: str, hint: str = "") -> None:
        self.name = name
        where = hint or "set it in the environment or in .chalice/config.json for this stage"
        super().__init__(f"missing required setting {name}: {where}")


def _env(name: str, default: str = "") -> str:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def _int(name: str, default: int) -> int:
    raw = _env(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"setting {name} must be an integer, got {raw!r}") from exc


def _float(name: str, default: float) -> float:
    raw = _env(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"setting {name} must be a number, got {raw!r}") from exc


def _bool(name: str, default: bool) -> bool:
    raw = _env(name).lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"setting {name} must be true or false, got {raw!r}")


def _csv(name: str, default: str = "") -> tuple[str, ...]:
    return tuple(part.strip() for part in _env(name, default).split(",") if part.strip())


class Settings(NamedTuple):
    """The app's configuration for one stage (immutable). Build it with :func:`get_settings`.

    A NamedTuple rather than a dataclass: ``dataclasses`` pulls in ``inspect``, a few ms that
    every cold start would pay."""

    stage: str = LOCAL_STAGE
    version: str = "0.1.0"
    aws_region: str = "us-east-1"
    log_level: str = "INFO"

    # Local mode
    local_data_dir: Path = PROJECT_ROOT / ".local"

    # Databases. DATABASE_URL (seed 001/004) is the main database; the ambient pages tables
    # live in the MySQL database of seed 000 when DB_HOST is set, else in DATABASE_URL.
    database_url: str = ""
    db_host: str = ""
    db_port: int = 3306
    db_name: str = "ambia"
    db_user: str = ""
    db_pool_size: int = 5

    # Secrets (SSM Parameter Store SecureStrings under this prefix, else env vars)
    ssm_prefix: str = ""
    secrets_ttl_seconds: float = 300.0

    # AWS resources
    bucket_name: str = "collections-images-local"
    event_bus_name: str = "default"
    dynamodb_table_name: str = "valro-tasks"
    task_store: str = "sql"
    worker_lambda_arn: str = ""
    agent_runtime_arn: str = ""
    task_description_max_chars: int = 4000
    pattern_detector: str = "statistical"
    bedrock_model_id: str = "meta.llama3-1-8b-instruct-v1:0"
    generator_concurrency: int = 8
    generator_lease_seconds: int = 240
    page_miss_lease_seconds: int = 35
    task_deadline_seconds: int = 900
    task_reinvoke_after_seconds: int = 120
    task_reinvoke_max: int = 2
    task_record_retry_seconds: int = 60

    # The concierge agent's tools (chalicelib/vendors)
    agent_max_steps: int = 8
    agent_max_quote_requests: int = 3
    quote_email_sender: str = ""
    quote_link_ttl_seconds: int = 7 * 24 * 3600
    quote_max_price: float = 1_000_000.0

    # Providers
    anthropic_base_url: str = ""
    claude_model: str = "claude-sonnet-4-5"
    voyage_base_url: str = ""
    voyage_embedding_model: str = "voyage-3.5"
    provider_timeout_seconds: float = 60.0
    provider_max_retries: int = 2

    # Collections
    image_max_bytes: int = 30 * 1024 * 1024
    image_max_pixels: int = 50_000_000
    vector_exact_search_max_rows: int = 5000
    search_answer_timeout_seconds: float = 10.0
    item_resend_after_seconds: int = 300
    item_resend_max: int = 2

    # HTTP API
    public_base_url: str = "http://127.0.0.1:8000"
    max_body_bytes: int = 1_048_576
    max_upload_bytes: int = 20 * 1_048_576
    cors_allow_origins: tuple[str, ...] = ()

    # Auth
    jwt_algorithm: str = "HS256"
    jwt_jwks_url: str = ""
    jwt_issuer: str = ""
    jwt_audience: str = ""

    # Web console (Cognito hosted UI with PKCE when both are set; else a pasted token)
    console_cognito_domain: str = ""
    console_cognito_client_id: str = ""

    @property
    def is_local(self) -> bool:
        return self.stage == LOCAL_STAGE

    def require(self, attribute: str, env_name: str) -> str:
        """Return a non-empty setting or raise :class:`MissingSetting` naming ``env_name``."""
        value = getattr(self, attribute)
        if not value:
            raise MissingSetting(env_name)
        return value

    @property
    def pages_database_url_from_parts(self) -> str:
        """Seed 000's MySQL URL built from DB_* (password comes from secrets), or ''."""
        if not self.db_host:
            return ""
        from chalicelib.secrets import get_secret

        user = quote_plus(self.db_user or "root")
        password = quote_plus(get_secret("DB_PASSWORD") or "")
        auth = f"{user}:{password}" if password else user
        return f"mysql+pymysql://{auth}@{self.db_host}:{self.db_port}/{self.db_name}?charset=utf8mb4"


def load_settings() -> Settings:
    """Read every setting from the environment (no caching; see :func:`get_settings`)."""
    stage = _env("STAGE", LOCAL_STAGE)
    local = stage == LOCAL_STAGE
    data_dir = Path(_env("LOCAL_DATA_DIR", str(PROJECT_ROOT / ".local"))).resolve()
    return Settings(
        stage=stage,
        version=_env("APP_VERSION", "0.1.0"),
        aws_region=_env("AWS_REGION", _env("AWS_DEFAULT_REGION", "us-east-1")),
        log_level=_env("LOG_LEVEL", "INFO").upper(),
        local_data_dir=data_dir,
        database_url=_env("DATABASE_URL"),
        db_host=_env("DB_HOST"),
        db_port=_int("DB_PORT", 3306),
        db_name=_env("DB_NAME", "ambia"),
        db_user=_env("DB_USER"),
        db_pool_size=_int("DB_POOL_SIZE", 5),
        ssm_prefix=_env("SSM_PREFIX", "" if local else "/collections").rstrip("/"),
        secrets_ttl_seconds=_float("SECRETS_TTL_SECONDS", 300.0),
        bucket_name=_env("BUCKET_NAME", "collections-images-local"),
        event_bus_name=_env("EVENT_BUS_NAME", "default"),
        dynamodb_table_name=_env("DYNAMODB_TABLE_NAME", "valro-tasks"),
        task_store=_env("TASK_STORE", "sql" if local else "dynamodb"),
        worker_lambda_arn=_env("WORKER_LAMBDA_ARN", "task_worker" if local else ""),
        agent_runtime_arn=_env("AGENT_RUNTIME_ARN"),
        task_description_max_chars=_int("TASK_DESCRIPTION_MAX_CHARS", 4000),
        pattern_detector=_env("PATTERN_DETECTOR", "statistical").lower(),
        bedrock_model_id=_env("BEDROCK_MODEL_ID", "meta.llama3-1-8b-instruct-v1:0"),
        generator_concurrency=_int("GENERATOR_CONCURRENCY", 8),
        generator_lease_seconds=_int("GENERATOR_LEASE_SECONDS", 240),
        page_miss_lease_seconds=_int("PAGE_MISS_LEASE_SECONDS", 35),
        task_deadline_seconds=_int("TASK_DEADLINE_SECONDS", 900),
        task_reinvoke_after_seconds=_int("TASK_REINVOKE_AFTER_SECONDS", 120),
        task_reinvoke_max=_int("TASK_REINVOKE_MAX", 2),
        task_record_retry_seconds=_int("TASK_RECORD_RETRY_SECONDS", 60),
        agent_max_steps=_int("AGENT_MAX_STEPS", 8),
        agent_max_quote_requests=_int("AGENT_MAX_QUOTE_REQUESTS", 3),
        quote_email_sender=_env("QUOTE_EMAIL_SENDER", "concierge@valro.local" if local else ""),
        quote_link_ttl_seconds=_int("QUOTE_LINK_TTL_SECONDS", 7 * 24 * 3600),
        quote_max_price=_float("QUOTE_MAX_PRICE", 1_000_000.0),
        anthropic_base_url=_env("ANTHROPIC_BASE_URL"),
        claude_model=_env("CLAUDE_MODEL", "claude-sonnet-4-5"),
        voyage_base_url=_env("VOYAGE_BASE_URL"),
        voyage_embedding_model=_env("VOYAGE_EMBEDDING_MODEL", "voyage-3.5"),
        provider_timeout_seconds=_float("PROVIDER_TIMEOUT_SECONDS", 60.0),
        provider_max_retries=_int("PROVIDER_MAX_RETRIES", 2),
        image_max_bytes=_int("IMAGE_MAX_BYTES", 30 * 1024 * 1024),
        image_max_pixels=_int("IMAGE_MAX_PIXELS", 50_000_000),
        vector_exact_search_max_rows=_int("VECTOR_EXACT_SEARCH_MAX_ROWS", 5000),
        search_answer_timeout_seconds=_float("SEARCH_ANSWER_TIMEOUT_SECONDS", 10.0),
        item_resend_after_seconds=_int("ITEM_RESEND_AFTER_SECONDS", 300),
        item_resend_max=_int("ITEM_RESEND_MAX", 2),
        public_base_url=_env("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        max_body_bytes=_int("MAX_BODY_BYTES", 1_048_576),
        max_upload_bytes=_int("MAX_UPLOAD_BYTES", 20 * 1_048_576),
        cors_allow_origins=_csv("CORS_ALLOW_ORIGINS"),
        jwt_algorithm=_env("JWT_ALGORITHM", "HS256").upper(),
        jwt_jwks_url=_env("JWT_JWKS_URL"),
        jwt_issuer=_env("JWT_ISSUER"),
        jwt_audience=_env("JWT_AUDIENCE"),
        console_cognito_domain=_env("CONSOLE_COGNITO_DOMAIN").removeprefix("https://").rstrip("/"),
        console_cognito_client_id=_env("CONSOLE_COGNITO_CLIENT_ID"),
    )


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once per container (tests call ``reset``)."""
    return load_settings()


def reset() -> None:
    """Forget cached settings, secrets and everything wired from them (tests use this)."""
    get_settings.cache_clear()
    from chalicelib import secrets, wiring

    secrets.clear_cache()
    wiring.reset()
