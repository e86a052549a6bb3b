"""S3 as a :class:`chalicelib.ports.BlobStore`.

Throttling, 5xx answers and network failures (after botocore's own retries) surface as
:class:`~chalicelib.ports.BlobStoreUnavailable`; other S3 errors (AccessDenied, NoSuchBucket)
propagate unchanged, since retrying cannot fix them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from botocore.exceptions import ClientError

from chalicelib.aws.transient import describe, is_transient
from chalicelib.ports import BlobNotFound, BlobStoreUnavailable


@contextlib.contextmanager
def _unavailable_when_transient(action: str, bucket: str, key: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        if is_transient(exc):
            raise BlobStoreUnavailable(f"S3 {action} s3://{bucket}/{key} failed: {describe(exc)}") from exc
        raise


class S3BlobStore:
    """Objects in S3 through an injected boto3 S3 client."""

    def __init__(self, client: Any) -> None:
        self._s3 = client

    def put(self, bucket: str, key: str, data: bytes, content_type: str = "application/octet-stream",
            tags: Mapping[str, str] | None = None) -> None:
        extra = {"Tagging": urlencode(dict(tags))} if tags else {}  # needs s3:PutObjectTagging
        with _unavailable_when_transient("PutObject", bucket, key):
            self._s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type, **extra)

    def get(self, bucket: str, key: str) -> bytes:
        with _unavailable_when_transient("GetObject", bucket, key):
            try:
                return self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except self._s3.exceptions.NoSuchKey:
                raise BlobNotFound(f"s3://{bucket}/{key}") from None

    def delete(self, bucket: str, key: str) -> None:
        with _unavailable_when_transient("DeleteObject", bucket, key):
            self._s3.delete_object(Bucket=bucket, Key=key)

    def exists(self, bucket: str, key: str) -> bool:
        with _unavailable_when_transient("HeadObject", bucket, key):
            try:
                self._s3.head_object(Bucket=bucket, Key=key)
                return True
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                    return False
                raise

    def presigned_put(self, bucket: str, key: str, content_type: str, expires_in: int = 900) -> dict[str, Any]:
        url = self._s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=expires_in,
        )
        return {"url": url, "method": "PUT", "headers": {"Content-Type": content_type}}

    def presigned_get(self, bucket: str, key: str, expires_in: int = 900) -> str:
        return self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in
        )
