"""Lazy, cached getters that build this stage's adapters once per container.

``app.py`` handlers call these; nothing is built at import time, so a cold start pays only
for what the invoked handler uses. Local stage: embedded PostgreSQL, files under ``.local/``,
the local runtime for events and async invokes. Other stages: the AWS services.
Tests call :func:`chalicelib.settings.reset` (which calls :func:`reset`) between cases.
"""

from __future__ import annotations

import functools
import importlib
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine

from chalicelib.settings import MissingSetting, get_settings
from chalicelib.tracing import TracingEventBus, TracingInvoker

_lock = threading.RLock()
_app_override: Any = None


def reset() -> None:
    """Forget every cached adapter (settings changed, or a test starts afresh)."""
    for getter in _CACHED:
        getter.cache_clear()


def set_app(app: Any) -> None:
    """Tell the local runtime which Chalice app's handlers to deliver to (tests)."""
    global _app_override
    _app_override = app
    local_runtime.cache_clear()


def chalice_app() -> Any:
    return _app_override if _app_override is not None else importlib.import_module("app").app


# --- databases -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def database_url() -> str:
    """DATABASE_URL (SSM or env); in the local stage, the embedded PostgreSQL (migrated)."""
    from chalicelib.secrets import get_secret

    settings = get_settings()
    url = settings.database_url or get_secret("DATABASE_URL") or ""
    if url:
        return url
    if not settings.is_local:
        raise MissingSetting("DATABASE_URL", "set SSM parameter /collections/DATABASE_URL or env DATABASE_URL")
    from chalicelib.db.embedded import embedded_postgres_url
    from chalicelib.db.migrate import upgrade

    with _lock:
        url = embedded_postgres_url(settings.local_data_dir)
        upgrade(url)
    return url


@functools.lru_cache(maxsize=1)
def pages_database_url() -> str:
    """Seed 000's MySQL (DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD) or DATABASE_URL."""
    return get_settings().pages_database_url_from_parts or database_url()


def database_urls() -> list[str]:
    return [database_url(), pages_database_url()]


def engine() -> Engine:
    from chalicelib.db.engine import get_engine

    return get_engine(database_url(), get_settings().db_pool_size)


def pages_engine() -> Engine:
    from chalicelib.db.engine import get_engine

    return get_engine(pages_database_url(), get_settings().db_pool_size)


# --- AWS clients ------------------------------------------------------------------------------


@functools.cache
def aws_client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30)
    return boto3.client(service, region_name=get_settings().aws_region, config=config)


@functools.cache
def aws_resource(service: str) -> Any:
    import boto3

    return boto3.resource(service, region_name=get_settings().aws_region)


# --- local runtime ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def local_runtime() -> Any:
    """The local runtime's producer side over the durable queue under ``.local/``."""
    from chalicelib.local.cli import queue_path
    from chalicelib.local.queue import DeliveryQueue
    from chalicelib.local.runtime import LocalRuntime

    settings = get_settings()
    settings.local_data_dir.mkdir(parents=True, exist_ok=True)
    queue = DeliveryQueue(queue_path(settings.local_data_dir))
    return LocalRuntime(chalice_app(), queue, event_bus_names=(settings.event_bus_name,), region=settings.aws_region)


# --- ports ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def blob_store() -> Any:
    settings = get_settings()
    if settings.is_local:
        from chalicelib.auth import signing_secret
        from chalicelib.local.blobs import LocalBlobStore

        return LocalBlobStore(
            settings.local_data_dir / "blobs",
            notify=local_runtime().on_object_created,
            secret=signing_secret(settings),
            public_base_url=settings.public_base_url,
        )
    from chalicelib.aws.blobs import S3BlobStore

    return S3BlobStore(aws_client("s3"))


@functools.lru_cache(maxsize=1)
def event_bus() -> Any:
    settings = get_settings()
    if settings.is_local:
        from chalicelib.local.bus import LocalEventBus

        return TracingEventBus(LocalEventBus(local_runtime(), settings.event_bus_name))
    from chalicelib.aws.events import EventBridgeBus

    return TracingEventBus(EventBridgeBus(aws_client("events"), settings.event_bus_name))


@functools.lru_cache(maxsize=1)
def invoker() -> Any:
    settings = get_settings()
    if settings.is_local:
        return TracingInvoker(local_runtime())
    from chalicelib.invoke.invoker import AdapterInvoker

    return TracingInvoker(AdapterInvoker(region=settings.aws_region))


@functools.lru_cache(maxsize=1)
def task_store() -> Any:
    """DynamoDB in AWS stages (TASK_STORE=dynamodb), the SQL database otherwise."""
    settings = get_settings()
    if settings.task_store == "dynamodb":
        from chalicelib.tasks.dynamo_store import DynamoTaskStore

        return DynamoTaskStore(aws_resource("dynamodb").Table(settings.dynamodb_table_name))
    if settings.task_store != "sql":
        raise ValueError(f"TASK_STORE must be 'sql' or 'dynamodb', got {settings.task_store!r}")
    from chalicelib.tasks.sql_store import SqlTaskStore

    return SqlTaskStore(engine())


@functools.lru_cache(maxsize=1)
def mailer() -> Any:
    """Amazon SES from QUOTE_EMAIL_SENDER in AWS stages; the ``.local/outbox`` files locally."""
    settings = get_settings()
    if settings.is_local:
        from chalicelib.local.outbox import OutboxMailer

        return OutboxMailer(settings.local_data_dir / "outbox", settings.quote_email_sender)
    from chalicelib.aws.mail import SesMailer

    return SesMailer(aws_client("ses"), settings.require("quote_email_sender", "QUOTE_EMAIL_SENDER"))


@functools.lru_cache(maxsize=1)
def vendor_directory() -> Any:
    """The vendor directory in the main SQL database; the local stage loads the sample rows."""
    from chalicelib.vendors.directory import VendorDirectory

    directory = VendorDirectory(engine())
    if get_settings().is_local:
        from chalicelib.vendors.importer import load_sample

        with _lock:  # one load per process; another process racing it is handled by upsert
            load_sample(directory)
    return directory


@functools.lru_cache(maxsize=1)
def quote_requests() -> Any:
    from chalicelib.vendors.quotes import QuoteRequests

    return QuoteRequests(engine())


# --- providers --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def llm() -> Any:
    from chalicelib.providers import get_llm

    return get_llm(get_settings())


@functools.lru_cache(maxsize=1)
def answer_llm() -> Any:
    """The LLM that answers searches, or None (answers are extractive, offline)."""
    from chalicelib.providers import get_answer_llm

    return get_answer_llm(get_settings())


@functools.lru_cache(maxsize=1)
def embedder() -> Any:
    from chalicelib.providers import get_embedder

    return get_embedder(get_settings())


@functools.lru_cache(maxsize=1)
def agent() -> Any:
    from chalicelib.providers import get_agent

    return get_agent(get_settings(), llm())


_CACHED = [
    database_url,
    pages_database_url,
    aws_client,
    aws_resource,
    task_store,
    mailer,
    vendor_directory,
    quote_requests,
    local_runtime,
    blob_store,
    event_bus,
    invoker,
    llm,
    answer_llm,
    embedder,
    agent,
]
