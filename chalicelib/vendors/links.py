"""Signed, expiring quote links: the vendor's only credential (no account, no JWT).

A token is ``<quote request id>.<expires (epoch s)>.<signature>``; the signature is
HMAC-SHA256 over the task id, vendor id, quote request id and expiry with the stage's
``QUOTE_LINK_SECRET`` (SSM or env; the local stage generates one under ``.local/``). The task
and vendor ids are not in the token: they are read from the quote request the token names, so
a token altered in any part fails the constant-time comparison.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:

    from chalicelib.settings import Settings

LOCAL_SECRET_FILE = "quote-link-secret"
_TOKEN = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([0-9]{1,12})\."
                    r"([A-Za-z0-9_-]{43})$")


class BadLink(ValueError):
    """The token is malformed, altered or not signed with this stage's secret (403)."""


class ExpiredLink(ValueError):
    """The token is genuine but past its expiry (410)."""


@dataclass(frozen=True)
class LinkToken:
    quote_request_id: str
    expires_at: int
    signature: str


def _signature(secret: str, task_id: str, vendor_id: str, quote_request_id: str, expires_at: int) -> str:
    message = f"quote-link/v1\n{task_id}\n{vendor_id}\n{quote_request_id}\n{expires_at}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(secret: str, task_id: str, vendor_id: str, quote_request_id: str, expires_at: int) -> str:
    """The token for one quote request."""
    return f"{quote_request_id}.{expires_at}.{_signature(secret, task_id, vendor_id, quote_request_id, expires_at)}"


def parse(token: str) -> LinkToken:
    """The token's parts (not yet verified), or :class:`BadLink`."""
    match = _TOKEN.match(token or "")
    if not match:
        raise BadLink("this quote link is not valid")
    return LinkToken(match.group(1), int(match.group(2)), match.group(3))


def verify(secret: str, token: LinkToken, task_id: str, vendor_id: str, now: float) -> None:
    """Raise :class:`BadLink` unless the signature matches (constant time), then
    :class:`ExpiredLink` when it is past its expiry."""
    expected = _signature(secret, task_id, vendor_id, token.quote_request_id, token.expires_at)
    if not hmac.compare_digest(expected.encode(), token.signature.encode()):
        raise BadLink("this quote link is not valid")
    if now >= token.expires_at:
        raise ExpiredLink("this quote link has expired; ask the customer for a new one")


def link_secret(settings: Settings) -> str:
    """QUOTE_LINK_SECRET (SSM/env), or in the local stage one kept in ``.local/``."""
    from chalicelib.secrets import get_secret, local_generated_secret
    from chalicelib.settings import MissingSetting

    secret = get_secret("QUOTE_LINK_SECRET")
    if secret:
        return secret
    if settings.is_local:
        return local_generated_secret(settings.local_data_dir / LOCAL_SECRET_FILE)
    raise MissingSetting("QUOTE_LINK_SECRET", "set SSM parameter {prefix}/QUOTE_LINK_SECRET or env QUOTE_LINK_SECRET")
