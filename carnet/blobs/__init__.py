"""Where documents' bytes live: files or an S3 bucket behind one protocol, and their encryption.

``S3BlobStore`` lives in ``carnet.blobs.s3`` and is imported only by an instance that uses it:
boto3 takes most of a second to import, which every command of the CLI would otherwise pay.
"""

from __future__ import annotations

from carnet.blobs.crypto import (
    DecryptionFailed,
    decrypt,
    encrypt,
    generate_key,
    load_or_create_master_key,
    unwrap_key,
    wrap_key,
)
from carnet.blobs.local import LocalBlobStore
from carnet.blobs.store import BlobMissing, BlobStore, open_store, validate_key

__all__ = [
    "BlobMissing",
    "BlobStore",
    "DecryptionFailed",
    "LocalBlobStore",
    "decrypt",
    "encrypt",
    "generate_key",
    "load_or_create_master_key",
    "open_store",
    "unwrap_key",
    "validate_key",
    "wrap_key",
]
