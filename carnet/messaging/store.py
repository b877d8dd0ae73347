"""Where a mailbox's content lives: sealed text in rows, encrypted blobs for raw mail and files.

Everything is encrypted with the patient's data key (``carnet.keys``), bound to where it is stored
(the row and field, or the blob key) so a sealed value cannot be moved to another row unnoticed.
Blobs are written as documents' bytes are (``records.writing.Content``, though under the data key
itself, not a key of their own): encrypted, then fsync'd by the store before the row that names
them commits.
"""

from __future__ import annotations

import hashlib

from carnet.blobs.crypto import DecryptionFailed, decrypt, encrypt
from carnet.errors import IntegrityFailure
from carnet.logs import get_logger
from carnet.runtime import Runtime

log = get_logger(__name__)


def seal(key: bytes, text: str, patient_id: str, row_id: str, field: str) -> bytes:
    return encrypt(key, text.encode("utf-8"), f"{patient_id}/{row_id}/{field}".encode())


def unseal(key: bytes, sealed: bytes, patient_id: str, row_id: str, field: str) -> str:
    try:
        return decrypt(key, sealed, f"{patient_id}/{row_id}/{field}".encode()).decode("utf-8")
    except DecryptionFailed:
        raise _damaged() from None


#: Raw messages up to this size are sealed into their row rather than written as a blob: most
#: messages are a few kilobytes of text, and a blob costs a file, two fsyncs and a rename each.
RAW_INLINE_MAX = 64 * 1024


def seal_raw(key: bytes, raw: bytes, patient_id: str, message_id: str) -> bytes:
    return encrypt(key, raw, f"{patient_id}/{message_id}/raw".encode())


def raw_message(
    rt: Runtime,
    key: bytes,
    patient_id: str,
    message_id: str,
    *,
    sealed: bytes | None,
    blob: str | None,
    sha256: str | None,
) -> bytes:
    """The message as it was received, from its row or its blob, checked against its hash."""
    if sealed is None:
        return get(rt, key, blob or "", sha256)
    try:
        data = decrypt(key, sealed, f"{patient_id}/{message_id}/raw".encode())
    except DecryptionFailed:
        raise _damaged() from None
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise _damaged()
    return data


def blob_key(patient_id: str, blob_id: str) -> str:
    return f"{patient_id}/{blob_id}"


def put(rt: Runtime, key: bytes, patient_id: str, blob_id: str, data: bytes) -> str:
    """Encrypt and store durably; the blob key to record in the row."""
    name = blob_key(patient_id, blob_id)
    rt.blobs.put(name, encrypt(key, data, name.encode()))
    return name


def get(rt: Runtime, key: bytes, name: str, sha256: str | None = None) -> bytes:
    """The bytes stored under ``name``, checked against their hash when one was recorded."""
    try:
        data = decrypt(key, rt.blobs.get(name), name.encode())
    except (KeyError, DecryptionFailed):
        raise _damaged() from None
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise _damaged()
    return data


def forget(rt: Runtime, names: list[str]) -> None:
    """Remove blobs no row will ever name (a duplicate, a rolled-back delivery): best effort."""
    for name in names:
        try:
            rt.blobs.delete(name)
        except OSError:
            log.warning("orphan_blob_left")


def _damaged() -> IntegrityFailure:
    return IntegrityFailure(
        "Le contenu stocké de ce message est altéré ; il n'est pas servi. L'exploitant est alerté.",
        "This message's stored content is damaged; it is not served. The operator is alerted.",
    )
