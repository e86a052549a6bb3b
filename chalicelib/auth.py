"""Bearer JWT verification for the Chalice authorizer, and local token minting.

HS256 with a shared secret (``JWT_SECRET`` from SSM or the environment; the local stage
generates one under ``.local/``) for local and simple deployments; RS256 against a JWKS URL
(a Cognito user pool's ``.../.well-known/jwks.json`` or any OIDC issuer) for AWS.
The user id is the token's ``sub``.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:

    import jwt

from chalicelib.secrets import get_secret, local_generated_secret
from chalicelib.settings import MissingSetting, Settings, get_settings

log = logging.getLogger(__name__)

LOCAL_SECRET_FILE = "jwt-secret"


class Unauthorized(Exception):
    """The token is missing, malformed, expired or not ours. API Gateway maps an authorizer
    exception whose message is exactly ``Unauthorized`` to a 401."""

    def __init__(self, reason: str) -> None:
        super().__init__("Unauthorized")
        self.reason = reason


def signing_secret(settings: Settings | None = None) -> str:
    """The HS256 secret: JWT_SECRET (SSM/env), or in the local stage one kept in .local/."""
    settings = settings or get_settings()
    secret = get_secret("JWT_SECRET")
    if secret:
        return secret
    if settings.is_local:
        return local_generated_secret(settings.local_data_dir / LOCAL_SECRET_FILE)
    raise MissingSetting("JWT_SECRET", "set SSM parameter {prefix}/JWT_SECRET or env JWT_SECRET")


@functools.lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    import jwt

    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)


def verify_token(token: str, settings: Settings | None = None) -> dict[str, Any]:
    """Return the claims of a valid token, or raise :class:`Unauthorized` with the reason."""
    import jwt  # imported here: only the authorizer pays for cryptography's import

    settings = settings or get_settings()
    if not token:
        raise Unauthorized("missing token")
    scheme, _, value = token.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("expected 'Authorization: Bearer <token>'")
    value = value.strip()
    options = {"require": ["exp", "sub"]}
    kwargs: dict[str, Any] = {"options": options, "leeway": 30}
    if settings.jwt_issuer:
        kwargs["issuer"] = settings.jwt_issuer
    if settings.jwt_audience:
        kwargs["audience"] = settings.jwt_audience
    else:
        options["verify_aud"] = False
    try:
        if settings.jwt_algorithm == "HS256":
            key: Any = signing_secret(settings)
        elif settings.jwt_jwks_url:
            key = _jwks_client(settings.jwt_jwks_url).get_signing_key_from_jwt(value).key
        else:
            raise MissingSetting("JWT_JWKS_URL", f"required when JWT_ALGORITHM={settings.jwt_algorithm}")
        claims = jwt.decode(value, key, algorithms=[settings.jwt_algorithm], **kwargs)
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.PyJWKClientError as exc:
        raise Unauthorized(f"signing key not found: {exc}") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip() or len(sub) > 128:
        raise Unauthorized("token 'sub' must be a non-empty string of at most 128 characters")
    return claims


def mint_token(sub: str, ttl_seconds: int = 12 * 3600, settings: Settings | None = None) -> str:
    """An HS256 token for ``sub`` signed with this stage's secret (``make token``, tests)."""
    import jwt

    now = int(time.time())
    claims = {"sub": sub, "iat": now, "exp": now + ttl_seconds}
    settings = settings or get_settings()
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, signing_secret(settings), algorithm="HS256")


def unauthorized(reason: str) -> Exception:
    """The exception an authorizer raises to answer 401.

    In Lambda, API Gateway maps an authorizer exception whose message is ``Unauthorized`` to a
    401 with ``{"message":"Unauthorized"}``. ``chalice local`` and ``chalice.test`` would answer
    500 for the same exception, so under them we raise their own 401 error instead (they are
    the only places ``chalice.local`` is ever imported).
    """
    import sys

    local = sys.modules.get("chalice.local")
    log.info("401: %s", reason)
    error: Exception = Unauthorized(reason) if local is None else local.NotAuthorizedError(
        {"x-amzn-ErrorType": "UnauthorizedException", "Content-Type": "application/json"},
        b'{"message":"Unauthorized"}',
    )
    error.auth_reason = reason  # type: ignore[attr-defined] - read by the invocation line
    return error


def main(argv: list[str] | None = None) -> None:
    """``python -m chalicelib.auth USER [--source WHERE]``: print a token for the local server
    on stdout (so ``TOKEN=$(make -s token)`` works) and, on stderr, whom it was signed for."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="make token", description="a bearer token for the local server")
    parser.add_argument("user")
    parser.add_argument("--source", default="", help="where the user came from, said on stderr")
    args = parser.parse_args(argv)
    user = args.user.strip()
    if not user:
        parser.error("USER is empty")
    ttl = 12 * 3600
    print(mint_token(user, ttl_seconds=ttl))
    source = f" ({args.source})" if args.source else ""
    print(f"token for user {user!r}{source}, valid {ttl // 3600} h; another user: make token USER=<id>",
          file=sys.stderr)


if __name__ == "__main__":
    main()
