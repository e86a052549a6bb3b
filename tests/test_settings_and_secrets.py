"""Settings come from the environment; secrets from SSM SecureStrings (cached) or env."""

from __future__ import annotations

import boto3
import pytest

from chalicelib import secrets, settings


@pytest.fixture()
def fresh(monkeypatch: pytest.MonkeyPatch):
    settings.reset()
    yield monkeypatch
    secrets.set_ssm_client_factory(None)
    settings.reset()


def test_seed_names_are_read(fresh: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DB_HOST": "db.example", "DB_PORT": "3307", "DB_NAME": "ambia", "DB_USER": "admin",
        "BUCKET_NAME": "b", "EVENT_BUS_NAME": "bus", "DYNAMODB_TABLE_NAME": "t",
        "WORKER_LAMBDA_ARN": "arn:aws:lambda:us-east-1:1:function:w", "AGENT_RUNTIME_ARN": "arn:x",
        "VOYAGE_EMBEDDING_MODEL": "voyage-3", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9/a",
        "VOYAGE_BASE_URL": "http://127.0.0.1:9/v",
    }.items():
        fresh.setenv(name, value)
    s = settings.get_settings()
    assert (s.db_host, s.db_port, s.db_name, s.db_user) == ("db.example", 3307, "ambia", "admin")
    assert (s.bucket_name, s.event_bus_name, s.dynamodb_table_name) == ("b", "bus", "t")
    assert s.worker_lambda_arn.endswith(":function:w") and s.agent_runtime_arn == "arn:x"
    assert s.voyage_embedding_model == "voyage-3"
    assert s.anthropic_base_url.endswith("/a") and s.voyage_base_url.endswith("/v")


def test_bad_number_names_the_setting(fresh: pytest.MonkeyPatch) -> None:
    fresh.setenv("DB_PORT", "abc")
    with pytest.raises(ValueError, match="DB_PORT"):
        settings.load_settings()


def test_missing_required_setting_names_it(fresh: pytest.MonkeyPatch) -> None:
    fresh.setenv("STAGE", "dev")
    fresh.delenv("WORKER_LAMBDA_ARN", raising=False)
    with pytest.raises(settings.MissingSetting, match="WORKER_LAMBDA_ARN"):
        settings.get_settings().require("worker_lambda_arn", "WORKER_LAMBDA_ARN")


def test_missing_database_url_outside_local_names_it(fresh: pytest.MonkeyPatch, aws: None) -> None:
    from chalicelib import wiring

    fresh.setenv("STAGE", "dev")
    fresh.setenv("SSM_PREFIX", "")
    fresh.delenv("DATABASE_URL", raising=False)
    settings.reset()
    with pytest.raises(settings.MissingSetting, match="DATABASE_URL"):
        wiring.database_url()


def test_secret_from_ssm_securestring_is_cached(fresh: pytest.MonkeyPatch, aws: None) -> None:
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/collections/ANTHROPIC_API_KEY", Value="sk-from-ssm", Type="SecureString")
    calls = []

    def factory():
        calls.append(1)
        return ssm

    fresh.setenv("STAGE", "dev")
    fresh.setenv("ANTHROPIC_API_KEY", "sk-from-env")
    settings.reset()
    secrets.set_ssm_client_factory(factory)
    assert secrets.get_secret("ANTHROPIC_API_KEY") == "sk-from-ssm"
    assert secrets.get_secret("ANTHROPIC_API_KEY") == "sk-from-ssm"
    assert len(calls) == 1, "second read must come from the TTL cache"


def test_secret_ttl_expiry_rereads(fresh: pytest.MonkeyPatch, aws: None) -> None:
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/collections/VOYAGE_API_KEY", Value="v1", Type="SecureString")
    fresh.setenv("STAGE", "dev")
    fresh.setenv("SECRETS_TTL_SECONDS", "0")
    settings.reset()
    secrets.set_ssm_client_factory(lambda: ssm)
    assert secrets.get_secret("VOYAGE_API_KEY") == "v1"
    ssm.put_parameter(Name="/collections/VOYAGE_API_KEY", Value="v2", Type="SecureString", Overwrite=True)
    assert secrets.get_secret("VOYAGE_API_KEY") == "v2"


def test_secret_falls_back_to_env_and_alias(fresh: pytest.MonkeyPatch, aws: None) -> None:
    ssm = boto3.client("ssm", region_name="us-east-1")
    fresh.setenv("STAGE", "dev")
    fresh.delenv("ANTHROPIC_API_KEY", raising=False)
    fresh.setenv("CLAUDE_API_KEY", "sk-seed-000-name")
    settings.reset()
    secrets.set_ssm_client_factory(lambda: ssm)
    assert secrets.get_secret("ANTHROPIC_API_KEY") == "sk-seed-000-name"
    with pytest.raises(settings.MissingSetting, match="VOYAGE_API_KEY"):
        secrets.require_secret("VOYAGE_API_KEY")


def test_local_stage_never_calls_ssm(fresh: pytest.MonkeyPatch) -> None:
    fresh.setenv("STAGE", "local")
    fresh.delenv("SSM_PREFIX", raising=False)
    fresh.setenv("VOYAGE_API_KEY", "env-key")
    settings.reset()

    def boom():
        raise AssertionError("SSM must not be called in the local stage")

    secrets.set_ssm_client_factory(boom)
    assert secrets.get_secret("VOYAGE_API_KEY") == "env-key"
