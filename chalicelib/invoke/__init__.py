"""Invoke Lambda functions as modules: retries with backoff and jitter, health.

No Chalice import, and boto3 is imported only when the first invocation builds a client.
"""

from .adapter import LambdaAdapter, resolve_function_name
from .classification import ErrorClassification, InvocationFailed, classify_error
from .health import HealthTracker
from .models import (
    ExecuteRequest,
    ExecuteResponse,
    build_payload,
    parse_invoke_response,
)

__all__ = [
    "ErrorClassification",
    "ExecuteRequest",
    "ExecuteResponse",
    "HealthTracker",
    "InvocationFailed",
    "LambdaAdapter",
    "build_payload",
    "classify_error",
    "parse_invoke_response",
    "resolve_function_name",
]
