"""Every setting the app reads, in one frozen object built from the environment.

Names follow the seeds where the seeds name them (DB_HOST, CLAUDE_API_KEY, BUCKET_NAME, ...).
Secrets are not stored here: read them with :func:`chalicelib.secrets.get_secret`, which asks
SSM Parameter Store first (when a prefix is configured) and falls back to the environment.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

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


#: How often the task sweeper runs (app.py schedules it every 5 minutes).
TASK_SWEEP_INTERVAL_SECONDS = 300
#: Time a worker has after its Lambda timeout's agent run to record the outcome, and slack for
#: the async hand-off's queueing, in the task deadline.
TASK_DEADLINE_SLACK_SECONDS = 60
#: A worker's claim older than TASK_WORKER_TIMEOUT_SECONDS plus this is stale: Lambda has ended
#: that invocation for certain (the margin covers clock skew between containers).
TASK_CLAIM_MARGIN_SECONDS = 30
PROVIDER_MODES = ("auto", "real", "offline")


def minimum_task_deadline(worker_timeout: int, reinvoke_after: int, reinvoke_max: int, resume_max: int = 0) -> int:
    """The shortest safe task deadline: the latest moment the first worker can start (the last
    sweeper re-invocation: each waits ``reinvoke_after`` of quiet plus up to one sweep interval),
    then per resume the stopped worker's whole run, the claim margin and one sweep interval until
    the next worker takes over, then the last worker's whole run (its Lambda timeout) plus slack.
    A shorter deadline could mark a task error while its worker is still running."""
    return (max(0, reinvoke_max) * (max(0, reinvoke_after) + TASK_SWEEP_INTERVAL_SECONDS)
            + max(0, resume_max) * (worker_timeout + TASK_CLAIM_MARGIN_SECONDS + TASK_SWEEP_INTERVAL_SECONDS)
            + worker_timeout + TASK_DEADLINE_SLACK_SECONDS)


def _task_deadline(worker_timeout: int, reinvoke_after: int, reinvoke_max: int, resume_max: int) -> int:
    """TASK_DEADLINE_SECONDS, derived when unset; a value below the safe minimum fails loudly."""
    minimum = minimum_task_deadline(worker_timeout, reinvoke_after, reinvoke_max, resume_max)
    deadline = _int("TASK_DEADLINE_SECONDS", minimum)
    if deadline < minimum:
        raise ValueError(
            f"setting TASK_DEADLINE_SECONDS={deadline} is shorter than the worker can run: at least {minimum} s "
            f"(TASK_REINVOKE_MAX={reinvoke_max} x (TASK_REINVOKE_AFTER_SECONDS={reinvoke_after} + "
            f"{TASK_SWEEP_INTERVAL_SECONDS} s sweep) + TASK_RESUME_MAX={resume_max} x "
            f"(TASK_WORKER_TIMEOUT_SECONDS={worker_timeout} + {TASK_CLAIM_MARGIN_SECONDS} s claim margin + "
            f"{TASK_SWEEP_INTERVAL_SECONDS} s sweep) + TASK_WORKER_TIMEOUT_SECONDS={worker_timeout} + "
            f"{TASK_DEADLINE_SLACK_SECONDS} s); raise it or leave it unset")
    return deadline


def _providers(mode: str, local: bool) -> str:
    """PROVIDERS: ``real`` (outside the local stage, the default and the only silent choice),
    ``offline`` (asked for explicitly), ``auto`` (local only: real when a key is set)."""
    if mode not in PROVIDER_MODES:
        raise ValueError(f"setting PROVIDERS must be one of {', '.join(PROVIDER_MODES)}, got {mode!r}")
    if mode == "auto" and not local:
        raise ValueError("setting PROVIDERS=auto is for the local stage only; use real or offline")
    return mode


def _csv(name: str, default: str = "") -> tuple[str, ...]:
    return tuple(part.strip() for part in _env(name, default).split(",") if part.strip())


#: The app's version: the one value ``/health`` and ``/openapi.json`` (``info.version``) report,
#: unless a stage sets ``APP_VERSION``.
VERSION = "0.1.0"


class Settings(NamedTuple):
    """The app's configuration for one stage (immutable). Build it with :func:`get_settings`.

    A NamedTuple rather than a dataclass: ``dataclasses`` pulls in ``inspect``, a few ms that
    every cold start would pay."""

    stage: str = LOCAL_STAGE
    version: str = VERSION
    aws_region: str = "us-east-1"
    log_level: str = "INFO"
    log_format: str = ""  # json | text; empty: text on a terminal, JSON otherwise and in Lambda
    metrics_namespace: str = ""  # default: ai-backend/<stage> (STAGE_TEMPLATE_DEFAULTS)

    # Local mode
    local_data_dir: Path = PROJECT_ROOT / ".local"

    # Databases. DATABASE_URL is the main database (collections, tasks); the ambient pages
    # tables live in the MySQL database named by DB_HOST and DB_* when DB_HOST is set, else there too.
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
    worker_lambda_arn: str = "task_worker"
    agent_runtime_arn: str = ""
    task_description_max_chars: int = 4000
    pattern_detector: str = "statistical"
    bedrock_model_id: str = "meta.llama3-1-8b-instruct-v1:0"
    generator_concurrency: int = 8
    generator_lease_seconds: int = 240
    page_miss_lease_seconds: int = 35
    page_types: tuple[str, ...] = ()
    page_misses_per_minute: int = 10
    task_worker_timeout_seconds: int = 600
    task_deadline_seconds: int = 2430
    task_reinvoke_after_seconds: int = 120
    task_reinvoke_max: int = 2
    task_resume_max: int = 1
    task_record_retry_seconds: int = 60
    task_handoff_seconds: float = 2.0

    # The concierge agent's tools (chalicelib/vendors)
    agent_max_steps: int = 8
    agent_max_quote_requests: int = 3
    quote_email_sender: str = "concierge@valro.local"
    quote_link_ttl_seconds: int = 7 * 24 * 3600
    quote_max_price: float = 1_000_000.0

    # Providers
    providers: str = "auto"
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


#: Every setting at its default: the one place defaults are written (constructors use these).
DEFAULTS = Settings()

#: Fields read from an environment variable other than the field's name in capitals.
ENV_NAMES = {"version": "APP_VERSION"}

#: Defaults outside the local stage, where they differ from the field's (which is the local one).
AWS_STAGE_DEFAULTS: dict[str, str] = {"ssm_prefix": "/collections", "task_store": "dynamodb",
                                      "worker_lambda_arn": "", "quote_email_sender": "",
                                      "providers": "real"}

#: Defaults computed from the stage ("{stage}" is replaced); the field's default is empty.
STAGE_TEMPLATE_DEFAULTS = {"metrics_namespace": "ai-backend/{stage}"}

_NORMALIZE: dict[str, Callable[[str], str]] = {
    "log_level": str.upper, "log_format": str.lower, "jwt_algorithm": str.upper, "pattern_detector": str.lower,
    "public_base_url": lambda v: v.rstrip("/"), "ssm_prefix": lambda v: v.rstrip("/"), "providers": str.lower,
    "console_cognito_domain": lambda v: v.removeprefix("https://").rstrip("/"),
}


def env_name(field: str) -> str:
    """The environment variable a setting is read from."""
    return ENV_NAMES.get(field, field.upper())


def default_for(field: str, stage: str = LOCAL_STAGE) -> object:
    """A setting's default in ``stage``: the field's default, or its AWS-stage / per-stage one."""
    if stage != LOCAL_STAGE and field in AWS_STAGE_DEFAULTS:
        return AWS_STAGE_DEFAULTS[field]
    if field in STAGE_TEMPLATE_DEFAULTS:
        return STAGE_TEMPLATE_DEFAULTS[field].format(stage=stage)
    return Settings._field_defaults[field]


def read(field: str, stage: str = LOCAL_STAGE) -> object:
    """One setting from the environment (its default when unset or empty), parsed and checked."""
    default = default_for(field, stage)
    name = env_name(field)
    if isinstance(default, int):
        return _int(name, default)
    if isinstance(default, float):
        return _float(name, default)
    if isinstance(default, Path):
        return Path(_env(name, str(default))).resolve()
    if isinstance(default, tuple):
        return _csv(name, ",".join(default))
    if field == "aws_region":
        return _env(name, _env("AWS_DEFAULT_REGION", str(default)))
    return _NORMALIZE.get(field, str)(_env(name, str(default)))


def load_settings() -> Settings:
    """Read every setting from the environment (no caching; see :func:`get_settings`)."""
    stage = _env("STAGE", LOCAL_STAGE)
    values = {field: stage if field == "stage" else read(field, stage) for field in Settings._fields}
    values["page_types"] = tuple(t.lower() for t in values["page_types"])
    values["providers"] = _providers(str(values["providers"]), stage == LOCAL_STAGE)
    values["task_deadline_seconds"] = _task_deadline(values["task_worker_timeout_seconds"],
                                                     values["task_reinvoke_after_seconds"], values["task_reinvoke_max"],
                                                     values["task_resume_max"])
    return Settings(**values)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once per container (tests call ``reset``)."""
    return load_settings()


_reset_hooks: list[Callable[[], None]] = []


def on_reset(hook: Callable[[], None]) -> None:
    """Call ``hook`` on every :func:`reset` (caches built from settings register here)."""
    if hook not in _reset_hooks:
        _reset_hooks.append(hook)


def reset() -> None:
    """Forget cached settings and everything built from them (secrets, adapters; tests use this)."""
    get_settings.cache_clear()
    for hook in list(_reset_hooks):
        hook()
