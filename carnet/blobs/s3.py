"""Blobs as objects in an S3-compatible bucket (AWS, MinIO, Garage, Scaleway, OVH…).

S3 answers a PUT only once the object is stored durably, and replaces an object whole, so the
protocol's promises hold without more work here. Credentials and region come from boto3's usual
chain (environment, shared files, instance role); nothing is read from settings but the endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from carnet.blobs.store import BlobMissing, is_valid_key, validate_key, validate_prefix

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType

_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class S3BlobStore:
    """One bucket, optionally below a prefix so several instances (or uses) can share it.

    The client is made once: boto3 clients are thread-safe, sessions are not. An explicit
    ``endpoint_url`` (an S3-compatible server) gets path-style addressing, which such servers
    expect and which works with an IP address or a name without wildcard DNS.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        *,
        create_bucket: bool = False,
    ) -> None:
        prefix = prefix.strip("/")
        if prefix:
            validate_key(prefix)
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        config = Config(
            retries={"mode": "standard", "max_attempts": 5},
            s3={"addressing_style": "path"} if endpoint_url else {},
        )
        self._client: S3Client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, config=config
        )
        if create_bucket:
            self._create_bucket_if_missing()

    def __repr__(self) -> str:
        return f"S3BlobStore({self.bucket!r}, {self.prefix!r})"

    def put(self, key: str, data: bytes) -> None:
        self._client.put_object(Bucket=self.bucket, Key=self._object_key(key), Body=data)

    def create(self, key: str, parts: Sequence[bytes]) -> None:
        """A plain put: an object appears whole or not at all, so there is no rename to save."""
        self.put(key, b"".join(parts))

    def get(self, key: str) -> bytes:
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self._object_key(key))
        except ClientError as exc:
            if _error_code(exc) in _MISSING_CODES:
                raise BlobMissing(key) from None
            raise
        with answer["Body"] as body:
            return body.read()

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        except ClientError as exc:
            if _error_code(exc) in _MISSING_CODES:
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=self._object_key(key))

    def keys(self, prefix: str = "") -> Iterator[str]:
        """S3 lists in UTF-8 byte order, which for ASCII keys is sorted order.

        Objects under the prefix whose names are not valid keys (put there by other tools) are
        skipped, as the local store skips its temp files.
        """
        return self._list(validate_prefix(prefix))

    def _list(self, prefix: str) -> Iterator[str]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                key = item["Key"].removeprefix(self.prefix)
                if is_valid_key(key):
                    yield key

    def _object_key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def _create_bucket_if_missing(self) -> None:
        try:
            self._client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _error_code(exc) not in _MISSING_CODES | {"NoSuchBucket"}:
                raise
        region = self._client.meta.region_name
        try:
            if region in (None, "us-east-1"):
                self._client.create_bucket(Bucket=self.bucket)
            else:
                # S3-compatible providers have regions AWS's list does not know ("fr-par").
                location = cast("BucketLocationConstraintType", region)
                self._client.create_bucket(
                    Bucket=self.bucket,
                    CreateBucketConfiguration={"LocationConstraint": location},
                )
        except ClientError as exc:
            if _error_code(exc) != "BucketAlreadyOwnedByYou":
                raise


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
