"""This process's adapters: thin typed getters over :class:`chalicelib.bootstrap.Adapters`.

``app.py`` handlers call these; nothing is built at import time, so a cold start pays only
for what the invoked handler uses. Local stage: embedded PostgreSQL, files under ``.local/``,
the local runtime for events and async invokes. Other stages: the AWS services.
Tests call :func:`chalicelib.settings.reset` (which calls :func:`reset`) between cases, and
:func:`override` to hand in fakes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib import bootstrap, settings
from chalicelib.ports import BlobStore, EventBus, Invoker, Mailer

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from chalicelib.providers.base import LLM, Agent, Embedder
    from chalicelib.tasks.store import TaskStore
    from chalicelib.vendors.directory import VendorDirectory
    from chalicelib.vendors.quotes import QuoteRequests

_current: bootstrap.Adapters | None = None
_overrides: dict[str, Any] = {}


def adapters() -> bootstrap.Adapters:
    """The adapters for the current settings (built again after :func:`reset`)."""
    global _current
    current = _current
    if current is None:
        current = _current = bootstrap.Adapters(settings.get_settings(), _overrides)
    return current


def reset() -> None:
    """Forget every built adapter (settings changed, or a test starts afresh)."""
    global _current
    _current = None


def override(**fakes: Any) -> None:
    """Use these adapters instead of building them (tests); :func:`clear_overrides` undoes it."""
    _overrides.update(fakes)
    reset()


def clear_overrides() -> None:
    _overrides.clear()
    reset()


settings.on_reset(reset)


def set_app(app: Any) -> None:
    """Tell the local runtime which Chalice app's handlers to deliver to (tests)."""
    bootstrap.set_local_app(app)
    if _current is not None:
        _current.forget("local_stage")


# --- databases -------------------------------------------------------------------------------


def database_url() -> str:
    """DATABASE_URL (SSM or env); in the local stage, the embedded PostgreSQL (migrated)."""
    return adapters().database_url()


def pages_database_url() -> str:
    """The pages' MySQL (DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD) or DATABASE_URL."""
    return adapters().pages_database_url()


def database_urls() -> list[str]:
    return [database_url(), pages_database_url()]


def engine() -> Engine:
    return adapters().engine()


def pages_engine() -> Engine:
    return adapters().pages_engine()


# --- AWS clients ------------------------------------------------------------------------------


def aws_client(service: str) -> Any:
    return adapters().aws_client(service)


def aws_resource(service: str) -> Any:
    return adapters().aws_resource(service)


def bedrock_runtime() -> Any:
    """The pattern detector's ``bedrock-runtime`` client (each Converse call bounded)."""
    return adapters().bedrock_runtime()


# --- ports ------------------------------------------------------------------------------------


def local_runtime() -> Any:
    """The local runtime's producer side over the durable queue under ``.local/``."""
    return adapters().local_stage().runtime


def blob_store() -> BlobStore:
    return adapters().blob_store()


def event_bus() -> EventBus:
    return adapters().event_bus()


def invoker() -> Invoker:
    return adapters().invoker()


def task_store() -> TaskStore:
    """DynamoDB in AWS stages (TASK_STORE=dynamodb), the SQL database otherwise."""
    return adapters().task_store()


def mailer() -> Mailer:
    """Amazon SES from QUOTE_EMAIL_SENDER in AWS stages; the ``.local/outbox`` files locally."""
    return adapters().mailer()


def vendor_directory() -> VendorDirectory:
    """The vendor directory in the main SQL database; the local stage loads the sample rows."""
    return adapters().vendor_directory()


def quote_requests() -> QuoteRequests:
    return adapters().quote_requests()


# --- providers --------------------------------------------------------------------------------


def llm() -> LLM:
    return adapters().llm()


def answer_llm() -> LLM | None:
    """The LLM that answers searches, or None (answers are extractive, offline)."""
    return adapters().answer_llm()


def embedder() -> Embedder:
    return adapters().embedder()


def agent() -> Agent:
    return adapters().agent(llm=lambda: llm())
