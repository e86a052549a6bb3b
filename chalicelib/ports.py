"""The small interfaces the domain talks to. AWS and local implementations live in
``chalicelib/aws`` and ``localdev``; :mod:`chalicelib.wiring` picks one per stage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from chalicelib.errors import DependencyUnavailable


class BlobStore(Protocol):
    """Objects by bucket and key (S3 in AWS, files under ``.local/blobs`` locally)."""

    def put(self, bucket: str, key: str, data: bytes, content_type: str = "application/octet-stream",
            tags: Mapping[str, str] | None = None) -> None:
        """Write the object; ``tags`` become S3 object tags (lifecycle rules filter on them)."""
        ...

    def get(self, bucket: str, key: str) -> bytes:
        """Raise :class:`BlobNotFound` when the object is absent, :class:`BlobStoreUnavailable`
        when the store cannot be reached (every method may raise that)."""
        ...

    def delete(self, bucket: str, key: str) -> None: ...

    def exists(self, bucket: str, key: str) -> bool: ...

    def presigned_put(self, bucket: str, key: str, content_type: str, expires_in: int = 900) -> dict[str, Any]:
        """``{"url", "method": "PUT", "headers"}`` a client can upload the bytes with."""
        ...

    def presigned_get(self, bucket: str, key: str, expires_in: int = 900) -> str: ...


class BlobNotFound(KeyError):
    """The object does not exist."""


class BlobStoreUnavailable(DependencyUnavailable):
    """The blob store could not be read or written right now (S3 throttling, 5xx or unreachable;
    a local disk error). The API answers 503; a background handler raises so it is retried."""

    def public_message(self) -> str:
        return "the file store is unavailable; retry shortly"


class EventBus(Protocol):
    """EventBridge ``PutEvents`` on one bus."""

    def put_event(self, source: str, detail_type: str, detail: Mapping[str, Any]) -> str:
        """Publish one event and return its id; raise on failure (nothing is dropped silently)."""
        ...


class Invoker(Protocol):
    """Invoke a Lambda function by name or ARN."""

    def invoke_async(self, function: str, payload: Mapping[str, Any]) -> None:
        """InvocationType=Event: queued for a background run; returns at once."""
        ...

    def invoke(self, function: str, payload: Mapping[str, Any]) -> Any:
        """InvocationType=RequestResponse: run and return the parsed result."""
        ...


class Mailer(Protocol):
    """Send one plain-text e-mail (Amazon SES in AWS, files under ``.local/outbox`` locally)."""

    def send(self, to: str, subject: str, body: str) -> str:
        """Return the mail service's message id once it accepted the message. Raise
        :class:`MailRejected` when it refuses this message, :class:`MailUnavailable` when it
        cannot be reached or is throttling (a later try may work)."""
        ...


class MailRejected(RuntimeError):
    """The mail service refused the message (unverified sender, bad address): do not retry."""


class MailUnavailable(DependencyUnavailable):
    """The mail service is down or throttling: the message was not sent; retry later."""

    def public_message(self) -> str:
        return "the mail service is unavailable; retry shortly"


class ToolInputError(ValueError):
    """An agent's tool input is invalid or not allowed; the message is for the model to correct."""


class Tools(Protocol):
    """The concierge agent's tools bound to one task (implemented by ``vendors.tools.Toolbox``,
    handed to the agent by the tasks service). Every effect the task reports comes from them."""

    #: The tools as the Anthropic Messages API takes them (``tools=``).
    specs: list[dict[str, Any]]
    max_quote_requests: int
    #: One record per call (``{"tool", "ok", ...}``), in order.
    calls: list[dict[str, Any]]

    def call(self, name: str, data: Any) -> dict[str, Any]:
        """Run one tool call; raise :class:`ToolInputError` for an unknown tool or a bad input."""
        ...

    def read_request(self, description: str) -> tuple[str | None, str | None]:
        """The trade and an area the directory serves that a description names (``None`` if absent)."""
        ...

    def as_message(self, text: str, limit: int = 1200) -> str:
        """``text`` as a quote-request message the tools accept: links removed, bounded."""
        ...
