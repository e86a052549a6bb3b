"""Blobs as files under ``root/<bucket>/<key>``: the local :class:`chalicelib.ports.BlobStore`.

Writes are atomic (temp file + rename). ``put`` calls ``notify(bucket, key, size, etag)`` after
the write, which is how an S3 ``ObjectCreated:Put`` event gets queued. Presigned URLs point at
``{public_base_url}/local/blobs?bucket&key&expires&signature`` and carry an HMAC-SHA256
signature over the method, bucket, key, expiry and, for a PUT, the Content-Type: as with S3's
presigned PUT, an upload with another Content-Type does not match the signature.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from chalicelib.ports import BlobNotFound, BlobStoreUnavailable

Notify = Callable[[str, str, int, str], None]

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_META_DIR = ".meta"  # bucket names cannot start with '.', so this never collides


class LocalBlobStore:
    """Files on disk standing in for S3 buckets."""

    def __init__(
        self,
        root: Path,
        notify: Notify | None = None,
        *,
        secret: bytes | str = b"local-dev-secret",
        public_base_url: str = "http://127.0.0.1:8000",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = Path(root).resolve()
        self.notify = notify
        self._secret = secret.encode() if isinstance(secret, str) else secret
        self.public_base_url = public_base_url.rstrip("/")
        self.clock = clock

    # -- paths ------------------------------------------------------------------------------

    def path_for(self, bucket: str, key: str) -> Path:
        """The file holding ``bucket/key``; ValueError for names that could escape the root."""
        return self._safe_path(self.root, bucket, key)

    def _meta_path(self, bucket: str, key: str) -> Path:
        return self._safe_path(self.root / _META_DIR, bucket, key + ".json")

    @staticmethod
    def _safe_path(base: Path, bucket: str, key: str) -> Path:
        if not _BUCKET_RE.match(bucket) or ".." in bucket:
            raise ValueError(f"invalid bucket name {bucket!r}")
        if not key or "\x00" in key or "\\" in key or key.startswith("/"):
            raise ValueError(f"invalid object key {key!r}")
        parts = key.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"invalid object key {key!r}: empty, '.' or '..' path segments are not allowed")
        path = base.joinpath(bucket, *parts)
        if not path.resolve().is_relative_to((base / bucket).resolve()):
            raise ValueError(f"invalid object key {key!r}: it leaves the bucket directory")
        return path

    # -- BlobStore --------------------------------------------------------------------------

    def put(self, bucket: str, key: str, data: bytes, content_type: str = "application/octet-stream",
            tags: Mapping[str, str] | None = None) -> None:
        """Write the object atomically (tags kept in its metadata), then notify (S3 ObjectCreated:Put)."""
        path = self.path_for(bucket, key)
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()  # S3 single-part ETag
        meta = {"content_type": content_type, "etag": etag, "size": len(data), "tags": dict(tags or {})}
        with _disk_errors_unavailable("write", bucket, key):
            _atomic_write(path, data)
            _atomic_write(self._meta_path(bucket, key), json.dumps(meta).encode())
        if self.notify is not None:
            self.notify(bucket, key, len(data), etag)

    def get(self, bucket: str, key: str) -> bytes:
        """The object's bytes; :class:`BlobNotFound` when absent."""
        path = self.path_for(bucket, key)
        with _disk_errors_unavailable("read", bucket, key):
            try:
                return path.read_bytes()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                raise BlobNotFound(f"s3://{bucket}/{key}") from None

    def head(self, bucket: str, key: str) -> dict[str, Any]:
        """``{"content_type", "etag", "size", "tags"}`` of an object; :class:`BlobNotFound` when absent."""
        path = self.path_for(bucket, key)
        if not path.is_file():
            raise BlobNotFound(f"s3://{bucket}/{key}")
        try:
            return json.loads(self._meta_path(bucket, key).read_text())
        except FileNotFoundError:
            data = path.read_bytes()
            return {"content_type": "application/octet-stream", "etag": hashlib.md5(data, usedforsecurity=False).hexdigest(), "size": len(data)}

    def delete(self, bucket: str, key: str) -> None:
        """Remove the object (no error if absent, like S3)."""
        for path in (self.path_for(bucket, key), self._meta_path(bucket, key)):
            with _disk_errors_unavailable("delete", bucket, key):
                try:
                    path.unlink()
                except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                    pass

    def exists(self, bucket: str, key: str) -> bool:
        return self.path_for(bucket, key).is_file()

    def presigned_put(self, bucket: str, key: str, content_type: str, expires_in: int = 900) -> dict[str, Any]:
        """``{"url", "method": "PUT", "headers"}`` for an upload to the local blob route."""
        return {
            "url": self._signed_url("PUT", bucket, key, expires_in, content_type),
            "method": "PUT",
            "headers": {"Content-Type": content_type},
        }

    def presigned_get(self, bucket: str, key: str, expires_in: int = 900) -> str:
        """A URL that serves the object from the local blob route until it expires."""
        return self._signed_url("GET", bucket, key, expires_in)

    # -- signatures -------------------------------------------------------------------------

    def _signed_url(self, method: str, bucket: str, key: str, expires_in: int, content_type: str = "") -> str:
        self.path_for(bucket, key)  # validate
        expires = int(self.clock()) + int(expires_in)
        signature = self.sign(method, bucket, key, expires, content_type)
        query = urlencode({"bucket": bucket, "key": key, "expires": expires, "signature": signature})
        return f"{self.public_base_url}/local/blobs?{query}"

    def sign(self, method: str, bucket: str, key: str, expires: int, content_type: str = "") -> str:
        """HMAC-SHA256 (hex) over method, bucket, key, expiry and Content-Type (empty for a GET)."""
        message = "\n".join([method.upper(), bucket, key, str(int(expires)), content_type.strip()]).encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def expired(self, expires: int | str) -> bool:
        """True when the expiry of a signed URL has passed (or is not a number)."""
        try:
            return int(expires) < self.clock()
        except (TypeError, ValueError):
            return True

    def verify_signature(
        self, bucket: str, key: str, expires: int | str, signature: str, method: str = "PUT",
        content_type: str = "",
    ) -> bool:
        """True if ``signature`` was issued for this method/bucket/key/expiry/Content-Type and
        has not expired. The Content-Type is compared exactly, as S3 compares a signed header."""
        if self.expired(expires):
            return False
        expected = self.sign(method, bucket, key, int(expires), content_type)
        return hmac.compare_digest(expected, str(signature))


@contextlib.contextmanager
def _disk_errors_unavailable(action: str, bucket: str, key: str) -> Iterator[None]:
    """A disk error (full, read-only, I/O, a path blocked by a file) as BlobStoreUnavailable."""
    try:
        yield
    except BlobNotFound:
        raise
    except OSError as exc:
        raise BlobStoreUnavailable(
            f"local blob store cannot {action} s3://{bucket}/{key}: {exc.strerror or type(exc).__name__}"
        ) from exc


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
