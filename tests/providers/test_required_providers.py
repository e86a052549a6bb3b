"""Outside the local stage real providers are required: a missing or unreadable key fails the
call as unavailable (503 + Retry-After on the API, an exception the event source retries), names
itself on /health, emits ``ProviderMissing``; offline stand-ins only with PROVIDERS=offline.
SSM errors other than ParameterNotFound are never taken (or cached) as "absent"."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib import secrets, settings
from chalicelib.providers import ProviderNotConfigured, ProviderUnavailable, get_agent, get_embedder, get_llm
from tests.conftest import ROOT, TEST_JWT_SECRET, auth_headers


@pytest.fixture()
def dev_stage(monkeypatch: pytest.MonkeyPatch, aws: None, pg_url: str, tmp_path: Path):  # noqa: ANN201
    """STAGE=dev on moto (an empty SSM under /collections) and the session PostgreSQL."""
    for name in ("ANTHROPIC_API_KEY", "CLAUDE_API_KEY", "VOYAGE_API_KEY", "AGENT_RUNTIME_ARN", "PROVIDERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STAGE", "dev")
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("JWT_SECRET", TEST_JWT_SECRET)
    monkeypatch.setenv("LOCAL_DATA_DIR", str(tmp_path))
    settings.reset()
    yield boto3.client("ssm", region_name="us-east-1")
    secrets.set_ssm_client_factory(None)
    settings.reset()


def emf(capsys: pytest.CaptureFixture[str], metric: str) -> list[dict]:
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{") and '"_aws"' in x]
    return [x for x in lines if metric in x]


def test_missing_keys_fail_as_unavailable_and_emit_the_metric(dev_stage, capsys) -> None:  # noqa: ANN001
    s = settings.get_settings()
    assert s.providers == "real"
    with pytest.raises(ProviderNotConfigured, match="ANTHROPIC_API_KEY is missing") as caught:
        get_llm(s)
    assert isinstance(caught.value, ProviderUnavailable) and "/collections/ANTHROPIC_API_KEY" in str(caught.value)
    with pytest.raises(ProviderNotConfigured, match="VOYAGE_API_KEY"):
        get_embedder(s)
    with pytest.raises(ProviderNotConfigured, match="ANTHROPIC_API_KEY"):
        get_agent(s, lambda: get_llm(s))
    lines = emf(capsys, "ProviderMissing")
    assert [(x["provider"], x["setting"], x["reason"]) for x in lines] == [
        ("claude", "ANTHROPIC_API_KEY", "missing"), ("voyage", "VOYAGE_API_KEY", "missing"),
        ("agent", "ANTHROPIC_API_KEY", "missing")]
    assert all(x["check"] == "providers" and x["ProviderMissing"] == 1 for x in lines)


def test_agentcore_alone_is_enough_for_the_agent(dev_stage, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("AGENT_RUNTIME_ARN", "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/a-1")
    settings.reset()
    from chalicelib import wiring

    assert type(wiring.agent()).__name__ == "AgentCoreAgent"  # no Anthropic key needed


def test_unreadable_ssm_is_unavailable_not_absent_and_not_cached(dev_stage, capsys) -> None:  # noqa: ANN001
    ssm = dev_stage
    ssm.put_parameter(Name="/collections/ANTHROPIC_API_KEY", Value="sk-real", Type="SecureString")
    stubbed = boto3.client("ssm", region_name="us-east-1")
    stubber = Stubber(stubbed)
    stubber.add_client_error("get_parameter", service_error_code="ThrottlingException", http_status_code=400)
    stubber.add_client_error("get_parameter", service_error_code="AccessDeniedException", http_status_code=400)
    stubber.activate()
    secrets.set_ssm_client_factory(lambda: stubbed)
    with pytest.raises(secrets.SecretUnavailable, match="ThrottlingException"):
        secrets.get_secret("ANTHROPIC_API_KEY")
    with pytest.raises(ProviderNotConfigured, match="ANTHROPIC_API_KEY is unreadable"):
        get_llm(settings.get_settings())
    assert emf(capsys, "ProviderMissing")[0]["reason"] == "unreadable"
    # SSM answers again: the key is read at once (the errors were not cached as "absent").
    secrets.set_ssm_client_factory(lambda: ssm)
    assert secrets.get_secret("ANTHROPIC_API_KEY") == "sk-real"
    assert type(get_llm(settings.get_settings())).__name__ == "ClaudeLLM"


def test_absent_parameter_is_remembered_only_briefly(dev_stage, monkeypatch) -> None:  # noqa: ANN001
    ssm = dev_stage
    secrets.set_ssm_client_factory(lambda: ssm)
    assert settings.get_settings().secrets_ttl_seconds == 300
    assert secrets.get_secret("VOYAGE_API_KEY") is None
    ssm.put_parameter(Name="/collections/VOYAGE_API_KEY", Value="pa-new", Type="SecureString")
    assert secrets.get_secret("VOYAGE_API_KEY") is None  # within ABSENT_TTL_SECONDS
    ssm.delete_parameter(Name="/collections/VOYAGE_API_KEY")
    monkeypatch.setattr(secrets, "ABSENT_TTL_SECONDS", 0.0)
    secrets.clear_cache()
    assert secrets.get_secret("VOYAGE_API_KEY") is None
    ssm.put_parameter(Name="/collections/VOYAGE_API_KEY", Value="pa-new", Type="SecureString")
    assert secrets.get_secret("VOYAGE_API_KEY") == "pa-new"  # an absence is not kept for the 300 s TTL


def test_api_answers_503_and_health_names_what_is_missing(dev_stage, user) -> None:  # noqa: ANN001
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="dev", project_dir=str(ROOT)) as client:
        health = client.http.get("/health")
        assert health.status_code == 503
        body = health.json_body
        assert body["status"] == "degraded" and body["database"]["reachable"] is True
        assert body["providers_mode"] == "real"
        assert body["providers"] == {"claude": "missing", "voyage": "missing", "agentcore": "unused"}
        prefix = settings.get_settings().ssm_prefix  # the stage's, from .chalice/config.json
        assert any(f"SSM parameter {prefix}/ANTHROPIC_API_KEY" in m for m in body["missing"])
        assert any(f"SSM parameter {prefix}/VOYAGE_API_KEY" in m for m in body["missing"])

        recorded = client.http.post("/activity", headers=auth_headers(user),
                                    body=json.dumps({"page": "home", "action": "view"}))
        assert recorded.status_code == 202
        miss = client.http.get("/pages/home", headers=auth_headers(user))
        assert miss.status_code == 503, miss.body
        assert miss.headers["Retry-After"] and "ANTHROPIC_API_KEY" in miss.json_body["error"]["message"]
        assert client.http.get("/pages", headers=auth_headers(user)).json_body == {"pages": []}


def test_offline_only_when_asked_and_then_said(dev_stage, monkeypatch, user) -> None:  # noqa: ANN001
    from chalice.test import Client

    from app import app

    monkeypatch.setenv("PROVIDERS", "offline")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ignored")  # offline means offline, key or not
    settings.reset()
    s = settings.get_settings()
    assert type(get_llm(s)).__name__ == "OfflineLLM"
    with Client(app, stage_name="dev", project_dir=str(ROOT)) as client:
        body = client.http.get("/health").json_body
        assert body["status"] == "ok" and body["providers_mode"] == "offline" and body["missing"] == []
        assert set(body["providers"].values()) == {"offline"}
        client.http.post("/activity", headers=auth_headers(user), body=json.dumps({"page": "home", "action": "view"}))
        page = client.http.get("/pages/home", headers=auth_headers(user))
        assert page.status_code == 200 and page.json_body["provider_used"] == "offline"


def test_auto_is_refused_outside_the_local_stage(dev_stage, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("PROVIDERS", "auto")
    with pytest.raises(ValueError, match="PROVIDERS=auto is for the local stage"):
        settings.load_settings()
    monkeypatch.setenv("PROVIDERS", "fake")
    with pytest.raises(ValueError, match="PROVIDERS must be one of"):
        settings.load_settings()
