"""The bootstrap builds each adapter once from settings; overrides win; no SDK at import."""

from __future__ import annotations

from pathlib import Path

from chalicelib import bootstrap
from chalicelib.providers.offline_llm import OfflineLLM
from chalicelib.settings import Settings


def test_adapters_are_built_once_and_overrides_win(tmp_path: Path) -> None:
    adapters = bootstrap.Adapters(Settings(local_data_dir=tmp_path), {"embedder": "fake"})
    assert isinstance(adapters.llm(), OfflineLLM)  # no ANTHROPIC_API_KEY in tests
    assert adapters.llm() is adapters.llm()
    assert adapters.embedder() == "fake"
    adapters.forget("llm")
    assert isinstance(adapters.llm(), OfflineLLM)
    built = bootstrap.Adapters(Settings())
    assert built.embedder() is built.embedder() and type(built.embedder()).__name__ != "VoyageEmbedder"


def test_an_aws_stage_needs_its_database_url(monkeypatch) -> None:  # noqa: ANN001
    import pytest

    from chalicelib.settings import MissingSetting

    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(MissingSetting, match="DATABASE_URL"):
        bootstrap.Adapters(Settings(stage="dev", ssm_prefix="")).database_url()
    url = "postgresql://u@db:5432/app"
    assert bootstrap.Adapters(Settings(stage="dev"), {"database_url": url}).pages_database_url() == url


def test_pages_mysql_url_quotes_user_and_password() -> None:
    settings = Settings(db_host="db.internal", db_port=3307, db_name="pages", db_user="app@x")
    assert bootstrap.mysql_url(settings, "p@ss:w/rd") == (
        "mysql+pymysql://app%40x:p%40ss%3Aw%2Frd@db.internal:3307/pages?charset=utf8mb4")
    assert bootstrap.mysql_url(settings, None) == "mysql+pymysql://app%40x@db.internal:3307/pages?charset=utf8mb4"
    assert bootstrap.mysql_url(Settings(), "x") == ""
