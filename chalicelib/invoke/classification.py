"""Which Lambda ``Invoke`` failures are worth retrying.

Decided by error code first, then by exception type (botocore's connection and timeout
errors), then by HTTP status (5xx and 429 retry, other 4xx do not). Explicit lists win over
the status rule, because Lambda reports several configuration errors as 502 (KMS, subnets,
ENI limits) which no amount of retrying fixes.

``ResourceConflictException`` is retryable: on ``Invoke`` Lambda raises it while the function
is ``Pending`` or an update is in progress, which clears on its own within seconds.
``ResourceNotReadyException``, ``ENINotReadyException`` and ``SnapStartNotReadyException``
are retryable for the same reason.

botocore is imported lazily: importing this module stays cheap on cold start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .models import ExecuteResponse

RETRYABLE = "retryable"
NON_RETRYABLE = "non_retryable"

RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "ServiceException",
        "InternalFailure",
        "InternalServerError",
        "EC2ThrottledException",
        "EC2UnexpectedException",
        "ResourceConflictException",
        "ResourceNotReadyException",
        "ENINotReadyException",
        "SnapStartNotReadyException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)

NON_RETRYABLE_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "AccessDenied",
        "InvalidParameterValueException",
        "InvalidRequestContentException",
        "RequestTooLargeException",
        "SerializedRequestEntityTooLargeException",
        "UnsupportedMediaTypeException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "KMSAccessDeniedException",
        "KMSDisabledException",
        "KMSInvalidStateException",
        "KMSNotFoundException",
        "InvalidSubnetIDException",
        "InvalidSecurityGroupIDException",
        "SubnetIPAddressLimitReachedException",
        "ENILimitReachedException",
        "EC2AccessDeniedException",
        "InvalidRuntimeException",
        "InvalidZipFileException",
        "RecursiveInvocationException",
    }
)

#: botocore exception class names that mean "the network, not the request": retry.
RETRYABLE_EXCEPTION_NAMES = frozenset(
    {
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ConnectionError",
        "HTTPClientError",
        "ProxyConnectionError",
    }
)


@dataclass(frozen=True)
class ErrorClassification:
    kind: Literal["retryable", "non_retryable"]
    reason: str
    code: str | None = None

    @property
    def retryable(self) -> bool:
        return self.kind == RETRYABLE


class InvocationFailed(RuntimeError):
    """Raised by :meth:`ExecuteResponse.raise_for_error`; carries the failed response."""

    def __init__(self, response: ExecuteResponse) -> None:
        self.response = response
        super().__init__(response.error or "Lambda invocation failed")


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a ``ClientError`` (duck-typed), else the exception's class name."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
        if code:
            return str(code)
    return type(exc).__name__


def http_status(exc: BaseException) -> int | None:
    """The HTTP status a ``ClientError`` came with, if any."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        if isinstance(status, int):
            return status
    return None


def classify_error(exc: BaseException) -> ErrorClassification:
    """Say whether ``exc`` (raised by ``lambda.invoke``) is worth retrying, and why."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        code = error_code(exc)
        if code in RETRYABLE_CODES:
            return ErrorClassification(RETRYABLE, f"{code} is transient", code)
        if code in NON_RETRYABLE_CODES:
            return ErrorClassification(NON_RETRYABLE, f"{code} will not change on retry", code)
        status = http_status(exc)
        if status is not None and (status == 429 or status >= 500):
            return ErrorClassification(RETRYABLE, f"{code} with HTTP {status}", code)
        return ErrorClassification(NON_RETRYABLE, f"{code} (HTTP {status}) is a client error", code)

    for klass in type(exc).__mro__:
        if klass.__name__ in RETRYABLE_EXCEPTION_NAMES and klass.__module__.startswith(
            ("botocore", "urllib3")
        ):
            return ErrorClassification(RETRYABLE, f"{type(exc).__name__}: network or timeout", type(exc).__name__)
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return ErrorClassification(RETRYABLE, f"{type(exc).__name__}: network or timeout", type(exc).__name__)
    return ErrorClassification(NON_RETRYABLE, f"unexpected {type(exc).__name__}", type(exc).__name__)
