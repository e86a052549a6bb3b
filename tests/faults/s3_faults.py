"""S3 failing on command, at the wire: a ``before-send`` hook on one boto3 client answers each
request the way S3 does when it is throttling or broken, or fails the connection, before the
request reaches moto. botocore's retries, error parsing and the app's handling all run as they
would against S3.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

#: fault name -> (HTTP status, S3 error code) for answers; the rest fail the connection.
ANSWERS = {"SlowDown": (503, "SlowDown"), "InternalError": (500, "InternalError")}
CONNECTION_FAULTS = {"unreachable": EndpointConnectionError, "reset": ConnectionClosedError,
                     "timeout": ReadTimeoutError}
FAULTS = [*ANSWERS, *CONNECTION_FAULTS]


class _Raw(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


class S3Faults:
    """Attach to a boto3 S3 client; set :attr:`fault` to one of :data:`FAULTS` (None: healthy)."""

    def __init__(self, client: Any) -> None:
        self.fault: str | None = None
        self.failed_requests = 0
        client.meta.events.register_first("before-send.s3", self._before_send)

    def _before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        if self.fault is None:
            return None
        self.failed_requests += 1
        if self.fault in CONNECTION_FAULTS:
            raise CONNECTION_FAULTS[self.fault](endpoint_url=request.url)
        status, code = ANSWERS[self.fault]
        body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                f"<Message>fault injected by the test</Message></Error>").encode()
        return AWSResponse(request.url, status, {"Content-Type": "application/xml"}, _Raw(body))
