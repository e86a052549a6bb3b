"""Quote links: HMAC over task, vendor, quote request and expiry; constant-time check."""

from __future__ import annotations

import pytest

from chalicelib.vendors import links

SECRET = "s" * 48
REQUEST = "3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b"


def test_a_genuine_token_verifies_until_it_expires() -> None:
    token = links.parse(links.sign(SECRET, "task-1", "vendor-1", REQUEST, 2_000_000_000))
    links.verify(SECRET, token, "task-1", "vendor-1", now=1_999_999_999)
    with pytest.raises(links.ExpiredLink):
        links.verify(SECRET, token, "task-1", "vendor-1", now=2_000_000_000)


@pytest.mark.parametrize(("task", "vendor", "secret"), [
    ("task-2", "vendor-1", SECRET), ("task-1", "vendor-2", SECRET), ("task-1", "vendor-1", "other" * 10),
])
def test_any_other_binding_or_secret_fails(task: str, vendor: str, secret: str) -> None:
    token = links.parse(links.sign(SECRET, "task-1", "vendor-1", REQUEST, 2_000_000_000))
    with pytest.raises(links.BadLink):
        links.verify(secret, token, task, vendor, now=0)


@pytest.mark.parametrize("raw", ["", "x", f"{REQUEST}.1", f"{REQUEST}.abc.{'a' * 43}", f"{REQUEST}.1.{'a' * 42}",
                                 f"{REQUEST}.1.{'a' * 43}.x", f"{REQUEST.upper()}.1.{'a' * 43}", f"{REQUEST}.1.{'+' * 43}"])
def test_malformed_tokens_are_refused(raw: str) -> None:
    with pytest.raises(links.BadLink):
        links.parse(raw)


def test_the_local_secret_is_generated_once_and_private(local_env) -> None:  # noqa: ANN001
    from chalicelib.settings import get_settings

    first = links.link_secret(get_settings())
    assert first == links.link_secret(get_settings()) and len(first) >= 48
    assert (local_env / links.LOCAL_SECRET_FILE).stat().st_mode & 0o077 == 0


def test_aws_stages_require_the_secret(monkeypatch: pytest.MonkeyPatch, aws: None) -> None:  # moto: SSM says ParameterNotFound
    from chalicelib import settings
    from chalicelib.settings import MissingSetting

    monkeypatch.setenv("STAGE", "dev")
    monkeypatch.setenv("SSM_PREFIX", "")
    monkeypatch.delenv("QUOTE_LINK_SECRET", raising=False)
    settings.reset()
    try:
        with pytest.raises(MissingSetting, match="QUOTE_LINK_SECRET"):
            links.link_secret(settings.get_settings())
    finally:
        monkeypatch.setenv("STAGE", "local")
        settings.reset()


def test_the_local_access_log_never_prints_a_link_token(caplog: pytest.LogCaptureFixture) -> None:
    from types import SimpleNamespace

    from localdev.http import _log_request

    token = links.sign(SECRET, "task-1", "vendor-1", REQUEST, 2_000_000_000)
    with caplog.at_level("INFO", logger="local.http"):
        _log_request(SimpleNamespace(command="GET", path=f"/vendor/quotes/{token}?x=1"), 200)
    assert caplog.records[0].path == "/vendor/quotes/{token}"
    assert token.split(".")[-1] not in caplog.text
