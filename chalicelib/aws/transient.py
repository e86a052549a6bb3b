"""Which AWS SDK errors mean "the service is down or busy, try again later".

botocore has already retried these (standard mode) by the time they reach us, so the caller
answers 503 or lets the event source retry; anything else (AccessDenied, NoSuchBucket, a bad
parameter) is a bug or a misconfiguration and stays an error.
"""

from __future__ import annotations

#: Error codes AWS services use for throttling and server-side failures (S3 uses SlowDown and
#: InternalError; DynamoDB, EventBridge and Lambda use the others).
TRANSIENT_CODES = frozenset({
    "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "RequestTimeoutException",
    "ThrottlingException", "Throttling", "ThrottledException", "TooManyRequestsException",
    "ProvisionedThroughputExceededException", "RequestLimitExceeded", "InternalServerError",
    "InternalFailure", "ServiceException", "EC2ThrottledException", "503", "500",
})


def is_transient(exc: BaseException) -> bool:
    """True for a network failure reaching AWS or an AWS throttling / 5xx / 429 answer."""
    try:
        from botocore.exceptions import ClientError, HTTPClientError
        from botocore.exceptions import ConnectionError as BotoConnectionError
    except ImportError:  # pragma: no cover - boto3 is in requirements.txt
        return False
    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        return True  # endpoint unreachable, connect/read timeout, connection closed mid-response
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return error.get("Code", "") in TRANSIENT_CODES or status >= 500 or status == 429
    return False


def describe(exc: BaseException) -> str:
    """A short, secret-free description: the error code (or class) and HTTP status."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code") or type(exc).__name__
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return f"{code} (HTTP {status})" if status else str(code)
    return type(exc).__name__
