"""Shared fixtures: a real embedded PostgreSQL + pgvector for the session, MariaDB/MySQL when
TEST_MYSQL_URL is set, moto for AWS, and the app in its local stage."""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_JWT_SECRET = "test-secret-" + "x" * 40

# Never let a test reach real AWS or real AI providers.
for _name in ("ANTHROPIC_API_KEY", "CLAUDE_API_KEY", "VOYAGE_API_KEY", "AGENT_RUNTIME_ARN", "DATABASE_URL",
              "DB_HOST", "TASK_STORE", "SSM_PREFIX"):
    os.environ.pop(_name, None)
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "STAGE": "local",
    }
)


# The app is imported in the local stage first (it adds the local-only routes then), whatever
# stage the first test to import it sets.
importlib.import_module("app")


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The embedded PostgreSQL 16 + pgvector, migrated to every head, for the whole session."""
    from chalicelib.db.embedded import embedded_postgres_url
    from chalicelib.db.migrate import upgrade

    url = embedded_postgres_url(tmp_path_factory.mktemp("pgdata"), database="app_test")
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def mysql_url() -> str:
    """A migrated MySQL/MariaDB database, or a skip that says how to enable these tests."""
    url = os.environ.get("TEST_MYSQL_URL")
    if not url:
        pytest.skip("MySQL/MariaDB tests need TEST_MYSQL_URL, e.g. mysql+pymysql://root@127.0.0.1:3306/test")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from chalicelib.db.migrate import upgrade

    parsed = make_url(url)
    test_db = f"{parsed.database or 'test'}_app"
    admin = create_engine(parsed.set(database=None))
    with admin.begin() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS `{test_db}`"))
        connection.execute(text(f"CREATE DATABASE `{test_db}` CHARACTER SET utf8mb4"))
    admin.dispose()
    url = parsed.set(database=test_db).render_as_string(hide_password=False)
    upgrade(url)
    return url


@pytest.fixture()
def local_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pg_url: str) -> Iterator[Path]:
    """The local stage on the session database, with its state under a fresh temp dir."""
    from chalicelib import settings, wiring

    monkeypatch.setenv("STAGE", "local")
    monkeypatch.setenv("LOCAL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("JWT_SECRET", TEST_JWT_SECRET)
    settings.reset()
    from app import app

    wiring.set_app(app)
    yield tmp_path
    wiring.set_app(None)
    settings.reset()


@pytest.fixture()
def override_adapters():  # noqa: ANN201 - wiring.override
    """``override_adapters(llm=fake, ...)``: the bootstrap hands out these fakes for this test."""
    from chalicelib import wiring

    yield wiring.override
    wiring.clear_overrides()


@pytest.fixture()
def client(local_env: Path):  # noqa: ANN201 - chalice.test.Client
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local", project_dir=str(ROOT)) as test_client:
        yield test_client


@pytest.fixture()
def runtime(local_env: Path):  # noqa: ANN201 - LocalRuntime
    """The local runtime over this test's queue; call ``runtime.drain()`` to deliver."""
    from chalicelib import wiring

    return wiring.local_runtime()


def make_token(user: str, ttl: int = 3600) -> str:
    import time

    import jwt

    now = int(time.time())
    return jwt.encode({"sub": user, "iat": now, "exp": now + ttl}, TEST_JWT_SECRET, algorithm="HS256")


def auth_headers(user: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(user)}", "Content-Type": "application/json", **extra}


@pytest.fixture()
def user() -> str:
    """A fresh user id, so tests sharing the session database never see each other's rows."""
    return f"user-{uuid.uuid4().hex[:10]}"


@pytest.fixture()
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto for every AWS API, in us-east-1."""
    from moto import mock_aws

    with mock_aws():
        yield
