"""One typed bootstrap: this stage's settings -> this stage's adapters.

:class:`Adapters` builds each adapter the first time it is asked for (a cold start pays only for
what the invoked handler uses) and keeps it for the life of the container. Tests pass
``overrides`` (``Adapters(settings, {"llm": fake})``) instead of patching getters.

The local stage's emulator (runtime, blob store on disk, local event bus) is not imported from
here: the development package registers it with :func:`register_local_stage` when ``app.py`` is
imported in the local stage, so this module only ever imports downward.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote_plus

from chalicelib.ports import BlobStore, EventBus, Invoker, Mailer
from chalicelib.secrets import get_secret
from chalicelib.settings import MissingSetting, Settings
from chalicelib.tracing import TracingEventBus, TracingInvoker

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from chalicelib.providers.base import LLM, Agent, Embedder
    from chalicelib.tasks.store import TaskStore
    from chalicelib.vendors.directory import VendorDirectory
    from chalicelib.vendors.quotes import QuoteRequests


class LocalStage(Protocol):
    """The local emulator's adapters (registered by the development package)."""

    runtime: Invoker

    def blob_store(self) -> BlobStore: ...

    def event_bus(self, bus_name: str) -> EventBus: ...

    def mailer(self) -> Mailer: ...


#: Builds the local stage for a Chalice app (``None``: the app that registered it).
LocalStageFactory = Callable[[Settings, Any], LocalStage]

_local_factory: LocalStageFactory | None = None
_local_app: Any = None
_embedded_lock = threading.RLock()


def register_local_stage(factory: LocalStageFactory, app: Any) -> None:
    """Called by the development package: how to build the local stage, and for which app."""
    global _local_factory, _local_app
    _local_factory, _local_app = factory, app


def set_local_app(app: Any) -> None:
    """Deliver local events to ``app``'s handlers (tests); ``None`` keeps the registered app."""
    global _local_app
    if app is not None:
        _local_app = app


def mysql_url(settings: Settings, password: str | None) -> str:
    """The pages' MySQL URL from DB_HOST/DB_PORT/DB_NAME/DB_USER and a password, or ''."""
    if not settings.db_host:
        return ""
    user = quote_plus(settings.db_user or "root")
    auth = f"{user}:{quote_plus(password)}" if password else user
    return f"mysql+pymysql://{auth}@{settings.db_host}:{settings.db_port}/{settings.db_name}?charset=utf8mb4"


#: The Lambda adapter's options in AWS: short timeouts and one retry, since POST /tasks waits at
#: most TASK_HANDOFF_SECONDS for the hand-off anyway and the sweeper sends again what did not go.
INVOKE_OPTIONS: dict[str, Any] = {"max_retries": 1, "initial_retry_delay": 0.2, "max_retry_delay": 0.5,
                                    "connect_timeout": 1.0, "read_timeout": 2.0}


class Adapters:
    """This stage's adapters, each built lazily at most once (``overrides`` win)."""

    def __init__(self, settings: Settings, overrides: Mapping[str, Any] | None = None) -> None:
        self.settings = settings
        self.overrides: dict[str, Any] = dict(overrides or {})
        self._built: dict[str, Any] = {}

    def forget(self, *names: str) -> None:
        """Build these adapters again on next use (e.g. after a test changed what they wrap)."""
        for name in names:
            self._built.pop(name, None)

    def _once(self, name: str, build: Callable[[], Any]) -> Any:
        if name in self.overrides:
            return self.overrides[name]
        if name not in self._built:
            self._built[name] = build()
        return self._built[name]

    # --- databases ---------------------------------------------------------------------------

    def database_url(self) -> str:
        """DATABASE_URL (SSM or env); in the local stage, the embedded PostgreSQL (migrated)."""
        return self._once("database_url", self._build_database_url)

    def _build_database_url(self) -> str:
        settings = self.settings
        url = settings.database_url or get_secret("DATABASE_URL") or ""
        if url:
            return url
        if not settings.is_local:
            raise MissingSetting("DATABASE_URL", "set SSM parameter /collections/DATABASE_URL or env DATABASE_URL")
        from chalicelib.db.embedded import embedded_postgres_url
        from chalicelib.db.migrate import upgrade

        with _embedded_lock:
            url = embedded_postgres_url(settings.local_data_dir)
            upgrade(url)
        return url

    def pages_database_url(self) -> str:
        """The pages' MySQL (DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD) or DATABASE_URL."""
        return self._once("pages_database_url", lambda: (
            mysql_url(self.settings, get_secret("DB_PASSWORD")) if self.settings.db_host else self.database_url()
        ))

    def engine(self) -> Engine:
        """The pooled engine for :meth:`database_url` (one per URL per process)."""
        from chalicelib.db.engine import get_engine

        return self.overrides.get("engine") or get_engine(self.database_url(), self.settings.db_pool_size)

    def pages_engine(self) -> Engine:
        from chalicelib.db.engine import get_engine

        return self.overrides.get("pages_engine") or get_engine(self.pages_database_url(), self.settings.db_pool_size)

    # --- AWS clients ---------------------------------------------------------------------------

    def aws_client(self, service: str) -> Any:
        def build() -> Any:
            import boto3
            from botocore.config import Config

            config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30)
            return boto3.client(service, region_name=self.settings.aws_region, config=config)

        return self._once(f"aws_client:{service}", build)

    def aws_resource(self, service: str) -> Any:
        def build() -> Any:
            import boto3

            return boto3.resource(service, region_name=self.settings.aws_region)

        return self._once(f"aws_resource:{service}", build)

    def bedrock_runtime(self) -> Any:
        """``bedrock-runtime`` with a per-call bound: 2 attempts, 5 s connect, 20 s read."""

        def build() -> Any:
            import boto3
            from botocore.config import Config

            config = Config(connect_timeout=5, read_timeout=20, retries={"mode": "standard", "total_max_attempts": 2})
            return boto3.client("bedrock-runtime", region_name=self.settings.aws_region, config=config)

        return self._once("bedrock_runtime", build)

    # --- ports ---------------------------------------------------------------------------------

    def local_stage(self) -> LocalStage:
        """The local emulator's adapters (local stage only; registered by ``app.py``)."""

        def build() -> LocalStage:
            if _local_factory is None:
                raise RuntimeError("the local stage is not registered: import app.py with STAGE=local first")
            self.settings.local_data_dir.mkdir(parents=True, exist_ok=True)
            return _local_factory(self.settings, _local_app)

        return self._once("local_stage", build)

    def blob_store(self) -> BlobStore:
        def build() -> BlobStore:
            if self.settings.is_local:
                return self.local_stage().blob_store()
            from chalicelib.aws.blobs import S3BlobStore

            return S3BlobStore(self.aws_client("s3"))

        return self._once("blob_store", build)

    def event_bus(self) -> EventBus:
        def build() -> EventBus:
            name = self.settings.event_bus_name
            if self.settings.is_local:
                return TracingEventBus(self.local_stage().event_bus(name))
            from chalicelib.aws.eventbridge import EventBridgeBus

            return TracingEventBus(EventBridgeBus(self.aws_client("events"), name))

        return self._once("event_bus", build)

    def invoker(self) -> Invoker:
        def build() -> Invoker:
            if self.settings.is_local:
                return TracingInvoker(self.local_stage().runtime)
            from chalicelib.invoke.invoker import AdapterInvoker

            return TracingInvoker(AdapterInvoker(region=self.settings.aws_region, **INVOKE_OPTIONS))

        return self._once("invoker", build)

    def task_store(self) -> TaskStore:
        """DynamoDB in AWS stages (TASK_STORE=dynamodb), the SQL database otherwise."""

        def build() -> TaskStore:
            settings = self.settings
            if settings.task_store == "dynamodb":
                from chalicelib.tasks.dynamo_store import DynamoTaskStore

                return DynamoTaskStore(self.aws_resource("dynamodb").Table(settings.dynamodb_table_name))
            if settings.task_store != "sql":
                raise ValueError(f"TASK_STORE must be 'sql' or 'dynamodb', got {settings.task_store!r}")
            from chalicelib.tasks.sql_store import SqlTaskStore

            return SqlTaskStore(self.engine())

        return self._once("task_store", build)

    def mailer(self) -> Mailer:
        """Amazon SES from QUOTE_EMAIL_SENDER in AWS stages; the ``.local/outbox`` files locally."""

        def build() -> Mailer:
            if self.settings.is_local:
                return self.local_stage().mailer()
            from chalicelib.aws.mail import SesMailer

            return SesMailer(self.aws_client("ses"), self.settings.require("quote_email_sender", "QUOTE_EMAIL_SENDER"))

        return self._once("mailer", build)

    def vendor_directory(self) -> VendorDirectory:
        """The vendor directory in the main SQL database; the local stage loads the sample rows."""

        def build() -> VendorDirectory:
            from chalicelib.vendors.directory import VendorDirectory

            directory = VendorDirectory(self.engine())
            if self.settings.is_local:
                from chalicelib.vendors.importer import load_sample

                with _embedded_lock:  # one load per process; another process racing it is handled by upsert
                    load_sample(directory)
            return directory

        return self._once("vendor_directory", build)

    def quote_requests(self) -> QuoteRequests:
        def build() -> QuoteRequests:
            from chalicelib.vendors.quotes import QuoteRequests

            return QuoteRequests(self.engine())

        return self._once("quote_requests", build)

    # --- providers -----------------------------------------------------------------------------

    def llm(self) -> LLM:
        from chalicelib.providers import get_llm

        return self._once("llm", lambda: get_llm(self.settings))

    def answer_llm(self) -> LLM | None:
        """The LLM that answers searches, or None without a key (answers are then extractive)."""
        from chalicelib.providers import get_answer_llm

        return self._once("answer_llm", lambda: get_answer_llm(self.settings))

    def embedder(self) -> Embedder:
        from chalicelib.providers import get_embedder

        return self._once("embedder", lambda: get_embedder(self.settings))

    def agent(self, llm: Callable[[], LLM] | None = None) -> Agent:
        """``llm`` supplies the model a Claude agent runs on (default: :meth:`llm`)."""
        from chalicelib.providers import get_agent

        # The LLM is built only if Claude is the agent (a getter, not a built LLM).
        return self._once("agent", lambda: get_agent(self.settings, llm or self.llm))
