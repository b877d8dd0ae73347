"""The one protocol every blob back-end keeps, and the choice of back-end from a URL.

Blobs hold documents' bytes (already encrypted by the caller); the database holds what they mean.
The same contract test suite runs against every implementation, so the records package may
rely on nothing a single back-end happens to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit
from urllib.request import url2pathname

MAX_KEY_LENGTH = 512
"""Leaves room for an S3 prefix under S3's 1,024-byte limit on object keys."""

MAX_SEGMENT_LENGTH = 200
"""Leaves room, under the usual 255-byte limit on a file name, for the local store's temp suffix."""

_KEY_CHARS = re.compile(r"[A-Za-z0-9._/-]*")


class BlobMissing(KeyError):
    """No blob under this key: a KeyError, so mapping-minded callers may catch either."""


class BlobStore(Protocol):
    """Where blobs live. Keys look like ``"<patient_id>/<blob_id>"``; see ``validate_key``."""

    def put(self, key: str, data: bytes) -> None:
        """Store ``data``; durable once this returns. Rewriting a key replaces it whole."""

    def create(self, key: str, parts: Sequence[bytes]) -> None:
        """Store a new blob, ``parts`` one after the other, under a key no blob ever had;
        durable once this returns.

        For keys made fresh by the caller (a new random id). Cheaper than ``put`` where a
        store must otherwise write aside and rename (files: one journal commit, not two); the
        price is that a writer killed midway may leave part of a blob under its key. That
        blob is never read: the caller commits the row naming the key only once this has
        returned, so it is an orphan like any blob whose transaction did not commit. A store
        that can tell cheaply refuses a key that exists (``FileExistsError``).
        """

    def get(self, key: str) -> bytes:
        """The bytes last put under ``key``; raises ``BlobMissing`` when there are none."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the blob; deleting what is absent is not an error."""

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with ``prefix`` (a plain string prefix), in sorted order."""


def validate_key(key: str) -> str:
    """Refuse keys that could alias another key, escape the store's root, or hide a file.

    Beyond the characters allowed (``[A-Za-z0-9._/-]``), a key has no empty segment (no leading
    or trailing ``/``, no ``//``) and no segment starting with ``.``: this rules out ``..`` and
    ``.``, keeps one key to one file on disk, and leaves dot-names free for the local store's
    temp files, which therefore can never be mistaken for blobs.
    """
    if not _is_valid(key, slack=0):
        raise ValueError(f"invalid blob key: {key!r}")
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: empty, or what a valid key may start with (so it may end with ``/``)."""
    if prefix and not _is_valid(prefix + "x", slack=1):
        raise ValueError(f"invalid blob key prefix: {prefix!r}")
    return prefix


def is_valid_key(key: str) -> bool:
    return _is_valid(key, slack=0)


def _is_valid(key: str, *, slack: int) -> bool:
    if not key or len(key) > MAX_KEY_LENGTH + slack or not _KEY_CHARS.fullmatch(key):
        return False
    if ".." in key:
        return False
    return all(
        segment and not segment.startswith(".") and len(segment) <= MAX_SEGMENT_LENGTH + slack
        for segment in key.split("/")
    )


def open_store(url: str, *, s3_endpoint_url: str | None = None) -> BlobStore:
    """The store named by ``Settings.resolved_blob_url``.

    ``file:///abs/path`` (as ``Path.as_uri`` writes it, percent-encoded) or
    ``s3://bucket/optional/prefix``; the bucket must already exist.
    """
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ValueError(f"blob URL takes no query or fragment: {url!r}")
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file blob URL must be local: {url!r}")
        path = Path(url2pathname(parts.path))
        if not path.is_absolute():
            raise ValueError(f"file blob URL needs an absolute path: {url!r}")
        from carnet.blobs.local import LocalBlobStore

        return LocalBlobStore(path)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"s3 blob URL needs a bucket: {url!r}")
        from carnet.blobs.s3 import S3BlobStore

        return S3BlobStore(parts.netloc, parts.path.strip("/"), s3_endpoint_url)
    raise ValueError(f"unknown blob URL scheme (want file:// or s3://): {url!r}")
