"""Dependency errors share one base class and the API maps them by type, not by class name."""

from __future__ import annotations

import pytest

from chalicelib import errors, web
from chalicelib.ports import BlobStoreUnavailable
from chalicelib.providers import ProviderError, ProviderOutputError, ProviderUnavailable


@pytest.mark.parametrize("exc", [ProviderUnavailable("timed out"), ProviderOutputError("cut"),
                                 BlobStoreUnavailable("disk")])
def test_every_dependency_error_shares_the_base_class(exc: Exception) -> None:
    assert isinstance(exc, errors.DependencyUnavailable)
    mapped = web.classify_dependency_error(exc)
    assert isinstance(mapped, errors.Unavailable) and mapped.status == 503


def test_renamed_subclasses_keep_their_status() -> None:
    """A subclass under another name maps as its base does (a rename cannot turn 503 into 500)."""

    class VoyageThrottled(ProviderUnavailable):
        pass

    class DiskGone(BlobStoreUnavailable):
        pass

    class KeyRevoked(ProviderError):
        pass

    assert web.classify_dependency_error(VoyageThrottled("429")).status == 503
    assert "file store" in web.classify_dependency_error(DiskGone("x")).message
    assert isinstance(web.classify_dependency_error(KeyRevoked("401", status=401)), errors.BadGateway)


def test_a_lookalike_name_is_not_a_dependency_error() -> None:
    class ProviderUnavailable(RuntimeError):  # same name, unrelated type  # noqa: N818
        pass

    assert web.classify_dependency_error(ProviderUnavailable("x")) is None


def test_messages_are_unchanged() -> None:
    assert web.classify_dependency_error(ProviderUnavailable("timed out")).message == (
        "an AI provider is unavailable; retry shortly (timed out)")
    assert web.classify_dependency_error(ProviderOutputError("cut")).message == (
        "the AI provider returned an unusable answer; nothing was stored; retry")
    assert web.classify_dependency_error(BlobStoreUnavailable("disk")).message == (
        "the file store is unavailable; retry shortly")


def test_the_mail_service_being_down_is_a_dependency_error() -> None:
    from chalicelib.ports import MailUnavailable

    assert web.classify_dependency_error(MailUnavailable("SES throttled")).status == 503
